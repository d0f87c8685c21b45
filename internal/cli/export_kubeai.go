package cli

import (
	"github.com/spf13/cobra"

	"github.com/vllmctl/vllmctl/internal/kube"
)

func newExportKubeAICmd(e *env) *cobra.Command {
	o := &exportKubeOptions{}
	c := &cobra.Command{
		Use:   "kubeai [PROFILE...]",
		Short: "Write KubeAI Model objects (kubeai.org/v1) of the profiles",
		Long: `Write kubeai-models.yaml: one KubeAI Model per engine (url hf://<model>,
engine VLLM, image, args, env, envFrom the project's Secret; minReplicas 0 for
x-vllmctl.on_demand engines).

Fields are mapped one to one; what a Model has no field for (GPU counts and
scheduling, which KubeAI takes from a resourceProfile of its system config;
cache claims; shm size; --served-model-name) is listed as a warning.`,
		Example: `  vllmctl export kubeai -O deploy/
  kubectl apply -f deploy/kubeai-models.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExportMapped(e, o, args, kube.KubeAI)
		},
	}
	addMappedFlags(c, o)
	return c
}
