package cli

import "github.com/spf13/cobra"

// newExportCmd groups the commands that turn the project's profiles into
// another system's configuration: each subcommand lives in its own file
// (export_<target>.go) and is listed here.
func newExportCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "export",
		Short: "Write the profiles as another system's configuration (Kubernetes, Helm, Prometheus…)",
		Long: `Write the project's profiles as configuration for another system. The compose
files stay the source of truth: run export again after changing them.

Each target writes files under -O DIR (or prints them when -O is not given)
and says what it could not map.`,
		Args: cobra.NoArgs,
	}
	c.AddCommand(exportTargets(e)...)
	return c
}

// exportTargets lists export's subcommands; each target adds one line.
func exportTargets(e *env) []*cobra.Command {
	return []*cobra.Command{
		newExportKubernetesCmd(e),
		newExportHelmCmd(e),
		newExportProductionStackCmd(e),
		newExportKubeAICmd(e),
		newExportPrometheusCmd(e),
		newExportGrafanaCmd(e),
		newExportComposeServiceCmd(e),
	}
}
