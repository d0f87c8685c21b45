package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vllmctl/vllmctl/internal/atomicfile"
	"github.com/vllmctl/vllmctl/internal/kube"
	"github.com/vllmctl/vllmctl/internal/project"
)

type exportKubeOptions struct {
	dir            string
	files          []string
	namespace      string
	includeSecrets bool
}

func newExportKubernetesCmd(e *env) *cobra.Command {
	o := &exportKubeOptions{}
	c := &cobra.Command{
		Use:     "kubernetes [PROFILE...]",
		Aliases: []string{"k8s"},
		Short:   "Write each profile as a Deployment, Service and cache claim, and the project's Secret",
		Long: `Write Kubernetes manifests for the profiles (every profile when none is
named): per vLLM engine a Deployment (strategy Recreate, nvidia.com/gpu limits
from the profile's GPUs), a Service, a PersistentVolumeClaim for the Hugging
Face cache, /dev/shm as a memory emptyDir sized from shm_size, a startupProbe
sized from the model's load time and readiness and liveness probes on /health.

Secrets (HF_TOKEN, --api-key values, *_TOKEN, *_API_KEY…) are never written in
the manifests: the containers read them from one Secret per project. Its values
are written only with --include-secrets, to secret.yaml (mode 0600); otherwise
secret.yaml.example holds the keys with the values masked and the
'kubectl create secret' command to make it.

Scheduling comes from x-vllmctl.kubernetes on the service (node_selector,
tolerations, affinity, hf_cache, gpus, service_type…; see the README). A value
that comes from a variable nothing here sets is not guessed: export refuses and
names the file and line.`,
		Example: `  vllmctl export kubernetes -O k8s/
  kubectl apply -f k8s/secret.yaml -f k8s/      # after --include-secrets
  vllmctl export kubernetes medium --namespace llm | kubectl apply -f -
  vllmctl export kubernetes -f docker-compose.yml -O k8s/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExportKubernetes(e, o, args)
		},
	}
	c.Flags().StringVarP(&o.dir, "out-dir", "O", "", "write the files into `DIR` (created); print the manifests when not given")
	c.Flags().StringVarP(&o.namespace, "namespace", "n", "", "namespace of every object (default: x-vllmctl.kubernetes.namespace, else none: kubectl's)")
	c.Flags().StringArrayVarP(&o.files, "file", "f", nil, "export stand-alone compose `FILE`s (each a profile named after it) instead of the project's profiles")
	c.Flags().BoolVar(&o.includeSecrets, "include-secrets", false, "write the Secret's values to DIR/secret.yaml (needs -O)")
	return c
}

// kubeExport loads the profiles (or the stand-alone -f files) and builds
// their Kubernetes objects; a located refusal (a value nothing sets) exits 1,
// anything else the arguments caused exits 2.
func (e *env) kubeExport(o *exportKubeOptions, profiles []string) (*kube.Result, error) {
	p, err := e.load(project.Options{Only: profiles, Files: o.files})
	if err != nil {
		return nil, err
	}
	res, err := kube.Build(p, profiles, kube.Options{Version: Version, Namespace: o.namespace})
	if err != nil {
		var le *kube.LocatedError
		if errors.As(err, &le) {
			return nil, &exitError{code: ExitFindings, err: err}
		}
		return nil, &exitError{code: ExitUsage, err: err}
	}
	return res, nil
}

func runExportKubernetes(e *env, o *exportKubeOptions, profiles []string) error {
	if o.includeSecrets && o.dir == "" {
		return usageErr("--include-secrets writes secret.yaml and needs -O DIR (secret values never go to the terminal)")
	}
	res, err := e.kubeExport(o, profiles)
	if err != nil {
		return err
	}
	files, err := kube.Render(res, o.includeSecrets)
	if err != nil {
		return &exitError{code: ExitFindings, err: err}
	}
	return writeExport(e, o.dir, files, res.Warnings)
}

// writeExport writes files under dir (or prints the non-secret ones) and the
// warnings to stderr.
func writeExport(e *env, dir string, files []kube.File, warnings []kube.Warning) error {
	for _, w := range warnings {
		fmt.Fprintln(e.stderr, "warning:", w)
	}
	if dir == "" {
		for i, f := range files {
			if f.Secret {
				continue
			}
			if i > 0 {
				fmt.Fprintln(e.stdout, "---")
			}
			if _, err := e.stdout.Write(f.Data); err != nil {
				return err
			}
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		perm := os.FileMode(0o644)
		if f.Secret {
			perm = 0o600
		}
		path := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(path, f.Data, perm); err != nil {
			return err
		}
		fmt.Fprintln(e.stderr, "wrote", path)
	}
	return nil
}

// runExportMapped builds the profiles' Kubernetes view and writes what write
// maps it to (production-stack values, KubeAI Models), with its warnings.
func runExportMapped(e *env, o *exportKubeOptions, profiles []string, write func(*kube.Result) ([]kube.File, error)) error {
	res, err := e.kubeExport(o, profiles)
	if err != nil {
		return err
	}
	files, err := write(res)
	if err != nil {
		for _, w := range res.Warnings {
			fmt.Fprintln(e.stderr, "warning:", w)
		}
		return &exitError{code: ExitFindings, err: err}
	}
	return writeExport(e, o.dir, files, res.Warnings)
}

// addMappedFlags registers the flags shared by the exports built on kube.Build.
func addMappedFlags(c *cobra.Command, o *exportKubeOptions) {
	c.Flags().StringVarP(&o.dir, "out-dir", "O", "", "write the file into `DIR` (created); print it when not given")
	c.Flags().StringVarP(&o.namespace, "namespace", "n", "", "namespace of the objects (default: x-vllmctl.kubernetes.namespace)")
	c.Flags().StringArrayVarP(&o.files, "file", "f", nil, "export stand-alone compose `FILE`s instead of the project's profiles")
}
