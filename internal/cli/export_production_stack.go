package cli

import (
	"github.com/spf13/cobra"

	"github.com/vllmctl/vllmctl/internal/kube"
)

func newExportProductionStackCmd(e *env) *cobra.Command {
	o := &exportKubeOptions{}
	c := &cobra.Command{
		Use:   "production-stack [PROFILE...]",
		Short: "Write values for the vLLM production-stack Helm chart (servingEngineSpec.modelSpec)",
		Long: `Write values-production-stack.yaml for the vLLM production-stack Helm chart:
one servingEngineSpec.modelSpec entry per engine (repository, tag, modelURL,
requestGPU, vllmConfig, extraArgs, env, hf_token, scheduling, shmSize, cache
claim), the startup probe sized from the slowest engine's load time.

Fields are mapped one to one; what has no field in the chart (an existing cache
claim, a Service type, an entrypoint) is listed as a warning. Secrets stay in
the project's Secret (export kubernetes --include-secrets writes it).`,
		Example: `  vllmctl export production-stack -O deploy/
  helm install vllm vllm/vllm-stack -f deploy/values-production-stack.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExportMapped(e, o, args, kube.ProductionStack)
		},
	}
	addMappedFlags(c, o)
	return c
}
