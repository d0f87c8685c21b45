package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/kube"
	"github.com/vllmctl/vllmctl/internal/project"
	"k8s.io/client-go/kubernetes"
)

// targetFlags choose where up, down and status act: this machine (the
// runtime flags) or a Kubernetes cluster (kubeconfig and context as kubectl
// reads them).
type targetFlags struct {
	target     string
	kubeconfig string
	context    string
	namespace  string
}

func (f *targetFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.target, "target", "local", "local (this machine: --runtime) or kubernetes (the cluster of --context)")
	c.Flags().StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig `FILE` with --target kubernetes (default: $KUBECONFIG, else ~/.kube/config)")
	c.Flags().StringVar(&f.context, "context", "", "kubeconfig context with --target kubernetes (default: the current one)")
	c.Flags().StringVarP(&f.namespace, "namespace", "n", "", "namespace with --target kubernetes (default: x-vllmctl.kubernetes.namespace, else the context's)")
}

// kubernetes reports whether the command acts on a cluster; an unknown
// target is a usage error.
func (f targetFlags) kubernetes() (bool, error) {
	switch f.target {
	case "", "local":
		if f.kubeconfig != "" || f.context != "" || f.namespace != "" {
			return false, usageErr("--kubeconfig, --context and --namespace need --target kubernetes")
		}
		return false, nil
	case "kubernetes", "k8s":
		return true, nil
	}
	return false, usageErr("--target %q: use local or kubernetes", f.target)
}

// cluster builds the profiles' objects (as export kubernetes writes them)
// and connects to the cluster; ns is where they live.
func (e *env) cluster(f targetFlags, profiles []string) (*kube.Result, kubernetes.Interface, string, error) {
	p, err := e.load(project.Options{})
	if err != nil {
		return nil, nil, "", err
	}
	for _, a := range profiles {
		if _, err := p.Profile(a); err != nil {
			return nil, nil, "", &exitError{code: ExitUsage, err: err}
		}
	}
	res, err := kube.Build(p, profiles, kube.Options{Version: Version, Namespace: f.namespace})
	if err != nil {
		return nil, nil, "", &exitError{code: ExitConfig, err: err}
	}
	cs, ctxNS, err := kube.Connect(f.kubeconfig, f.context)
	if err != nil {
		return nil, nil, "", err
	}
	ns := res.Namespace
	if ns == "" {
		ns = ctxNS
	}
	return res, cs, ns, nil
}

// upKubernetes is up --target kubernetes: server-side apply, then each
// rollout followed to ready or a diagnosis with its fix.
func upKubernetes(e *env, f targetFlags, profiles []string) error {
	res, cs, ns, err := e.cluster(f, profiles)
	if err != nil {
		return err
	}
	progress := func(name, state string) { fmt.Fprintf(e.stderr, "%s: %s\n", name, state) }
	err = kube.Up(e.ctx, cs, res, kube.UpOptions{Namespace: ns, Rollout: kube.RolloutOptions{Progress: progress}})
	var d *kube.Diagnosis
	if errors.As(err, &d) {
		return &exitError{code: ExitFindings, err: err}
	}
	if err != nil {
		return err
	}
	rows, err := kube.Status(e.ctx, cs, res, ns)
	if err != nil {
		return err
	}
	return e.printKubeStatus(rows)
}

// downKubernetes deletes the profiles' Deployments and Services and waits
// for their pods to go (claims and the Secret stay).
func downKubernetes(e *env, f targetFlags, profiles []string) error {
	res, cs, ns, err := e.cluster(f, profiles)
	if err != nil {
		return err
	}
	if err := kube.Down(e.ctx, cs, res, ns); err != nil {
		return err
	}
	for _, eng := range res.Engines {
		fmt.Fprintf(e.stdout, "%s: removed (%s/%s)\n", eng.Profile, ns, eng.Name)
	}
	return nil
}

// statusKubernetes shows the profiles' Deployments on the cluster.
func statusKubernetes(e *env, f targetFlags, profiles []string) error {
	res, cs, ns, err := e.cluster(f, profiles)
	if err != nil {
		return err
	}
	rows, err := kube.Status(e.ctx, cs, res, ns)
	if err != nil {
		return err
	}
	return e.printKubeStatus(rows)
}

func (e *env) printKubeStatus(rows []kube.StatusRow) error {
	if e.output != "table" {
		return writeData(e.stdout, e.output, rows)
	}
	t := newTable(e.stdout, "PROFILE", "STATE", "READY", "NAMESPACE/NAME", "GPUS", "IMAGE", "CONFIG", "DRIFT")
	for _, r := range rows {
		drift := "no"
		if r.Drift {
			drift = "yes: vllmctl up --target kubernetes " + r.Profile
		}
		t.row(r.Profile, r.State, r.Ready, r.Namespace+"/"+r.Name, r.GPUs, r.Image, r.Hash, drift)
	}
	return t.flush()
}
