package cli

import (
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vllmctl/vllmctl/internal/kube"
)

func newExportHelmCmd(e *env) *cobra.Command {
	o := &exportKubeOptions{}
	c := &cobra.Command{
		Use:   "helm [PROFILE...] -O DIR",
		Short: "Write a Helm chart of the profiles: values.yaml has one entry per profile",
		Long: `Write a Helm chart into DIR: Chart.yaml, values.yaml with one entry per profile
(image, args, env, GPUs, scheduling, cache, probes) and templates that render
exactly the Deployment, Service and cache claim of 'export kubernetes'.

The chart does not hold secret values: the containers read them from the
project's Secret, named in values.yaml (secretName). Create it from the
secret.yaml that 'export kubernetes --include-secrets' writes, or with kubectl.`,
		Example: `  vllmctl export helm -O charts/vllm
  vllmctl export kubernetes --include-secrets -O k8s && kubectl apply -f k8s/secret.yaml
  helm install vllm charts/vllm --set profiles.micro.enabled=false`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.dir == "" {
				return usageErr("export helm writes a chart folder: give it with -O DIR")
			}
			res, err := e.kubeExport(o, args)
			if err != nil {
				return err
			}
			files, err := kube.Chart(res, Version)
			if err != nil {
				return err
			}
			return writeExport(e, filepath.Clean(o.dir), files, res.Warnings)
		},
	}
	c.Flags().StringVarP(&o.dir, "out-dir", "O", "", "the chart's `DIR` (created)")
	c.Flags().StringVarP(&o.namespace, "namespace", "n", "", "namespace of every object (default: x-vllmctl.kubernetes.namespace, else the release's)")
	c.Flags().StringArrayVarP(&o.files, "file", "f", nil, "export stand-alone compose `FILE`s instead of the project's profiles")
	return c
}
