package cli

import (
	"sort"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/observability"
)

func newExportGrafanaCmd(e *env) *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "grafana",
		Short: "Write Grafana dashboards for the engines, the gateway and the watchdog",
		Long: `Write two Grafana dashboards as JSON under -O DIR (or print them):

  vllmctl-engines.json  tokens/s, TTFT and inter-token latency p50/p95/p99, KV
                        cache usage, running and waiting requests, preemptions,
                        end-to-end latency, finished requests by reason
  vllmctl-gateway.json  gateway requests by model and status, latency, time to
                        first byte, upstream errors and retries, engine
                        readiness, and the watchdog's states over time

The Prometheus datasource is a dashboard variable ($datasource) and the
profiles a multi-value variable ($profile), so the files import into any
Grafana 10+ (Dashboards > New > Import, or file provisioning). The queries
read the job names and labels of 'vllmctl export prometheus' (which writes the
same files with --dashboards) and vLLM's old and new metric names.`,
		Example: `  vllmctl export grafana -O monitoring/dashboards/
  vllmctl export prometheus -O monitoring/ --dashboards`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			files, err := dashboardFiles()
			if err != nil {
				return err
			}
			return e.writeExport(dir, files)
		},
	}
	c.Flags().StringVarP(&dir, "out-dir", "O", "", "write the files into `DIR` (created if missing); print them when not given")
	return c
}

func dashboardFiles() ([]exportFile, error) {
	var out []exportFile
	for name, d := range observability.Dashboards() {
		b, err := observability.DashboardJSON(d)
		if err != nil {
			return nil, err
		}
		out = append(out, exportFile{name, b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}
