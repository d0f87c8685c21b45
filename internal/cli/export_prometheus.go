package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/atomicfile"
	"github.com/vllmctl/vllmctl/internal/observability"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/resolve"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

type exportPrometheusFlags struct {
	dir        string
	gateway    string
	at         string
	timing     observability.Timing
	dashboards bool
}

func newExportPrometheusCmd(e *env) *cobra.Command {
	f := exportPrometheusFlags{timing: observability.DefaultTiming()}
	c := &cobra.Command{
		Use:   "prometheus [PROFILE...]",
		Short: "Write a Prometheus scrape configuration and alert rules for the engines and the gateway",
		Long: `Write prometheus.yml (a scrape job for every engine's /metrics, labelled with
profile, service, model and config_hash, and one for the gateway of 'vllmctl
serve') and vllmctl-alerts.yml (alert rules) under -O DIR, or print both.

Targets come from the ports the profiles publish. --prometheus-at says where
Prometheus runs: "host" (on the Docker host: 127.0.0.1:PORT) or "container"
(a Prometheus container on the same Docker host: host.docker.internal:PORT;
on a Linux Docker Engine give that service
extra_hosts: ["host.docker.internal:host-gateway"]). An engine whose port cannot
be told (none published, a variable no .env sets, a port Prometheus cannot
reach) is not guessed: it is named on stderr and in the file's header.

Alerts: engine or gateway down (1m); not ready 15m after a (re)start; wedged or
hung (from vllmctl_watchdog_state and its transitions); crash looping; KV cache
above 90 % for 5m; requests waiting and growing for 5m; TTFT p95 above the
profile's x-vllmctl.slo.ttft_p95; gateway 5xx above 5 %; GPU memory above 98 %
when a DCGM or nvidia_gpu_exporter job is scraped too. They read vLLM's old and
new metric names (vllm:gpu_cache_usage_perc and vllm:kv_cache_usage_perc, ...).
--dashboards also writes the Grafana dashboards of 'export grafana'.

Check the files with promtool (Debian package prometheus):
  promtool check config DIR/prometheus.yml`,
		Example: `  vllmctl export prometheus -O monitoring/
  vllmctl export prometheus medium mini --gateway 127.0.0.1:8080 -O monitoring/
  vllmctl export prometheus --prometheus-at container -O monitoring/ --dashboards
  prometheus --config.file=monitoring/prometheus.yml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runExportPrometheus(f, args)
		},
	}
	c.Flags().StringVarP(&f.dir, "out-dir", "O", "", "write the files into `DIR` (created if missing); print them when not given")
	c.Flags().StringVar(&f.gateway, "gateway", "127.0.0.1:8080", "address of `vllmctl serve` (its --listen); empty: no gateway job")
	c.Flags().StringVar(&f.at, "prometheus-at", string(observability.OnHost), "where Prometheus runs: host or container")
	c.Flags().DurationVar(&f.timing.ScrapeInterval, "scrape-interval", f.timing.ScrapeInterval, "how often Prometheus scrapes")
	c.Flags().DurationVar(&f.timing.EvaluationInterval, "evaluation-interval", f.timing.EvaluationInterval, "how often rules are evaluated")
	c.Flags().DurationVar(&f.timing.NotReadyAfter, "not-ready-after", f.timing.NotReadyAfter, "alert when an engine is still not ready this long after a (re)start")
	c.Flags().BoolVar(&f.dashboards, "dashboards", false, "also write the Grafana dashboards (as export grafana)")
	return c
}

func (e *env) runExportPrometheus(f exportPrometheusFlags, only []string) error {
	v := observability.Vantage(f.at)
	if v != observability.OnHost && v != observability.InContainer {
		return usageErr("--prometheus-at %q: use host or container", f.at)
	}
	if f.timing.ScrapeInterval <= 0 || f.timing.EvaluationInterval <= 0 || f.timing.NotReadyAfter <= 0 {
		return usageErr("--scrape-interval, --evaluation-interval and --not-ready-after must be positive")
	}
	p, err := e.load(project.Options{})
	if err != nil {
		return err
	}
	var dh observability.DockerHost
	if v == observability.InContainer {
		hv := dockerHost(e.ctx)
		dh = observability.DockerHost{Known: hv.Known, Desktop: hv.Desktop}
	}
	cfg := observability.Config{Timing: f.timing}
	if f.gateway != "" {
		cfg.Gateway, cfg.GatewayUnknown = observability.GatewayAddress(f.gateway, v, dh)
	}
	want := map[string]bool{}
	for _, name := range only {
		if _, err := p.Profile(name); err != nil {
			return usageErr("%v", err)
		}
		want[name] = true
	}
	for _, pr := range p.Profiles {
		if len(want) > 0 && !want[pr.Name] {
			continue
		}
		if pr.Compose == nil {
			cfg.Engines = append(cfg.Engines, observability.Engine{Profile: pr.Name, Service: "?", Unknown: "the profile does not load: run 'vllmctl check " + pr.Name + "'"})
			continue
		}
		hash := ""
		if r, err := resolve.Resolve(p, pr, resolve.ResolveOptions{}); err == nil {
			hash = r.Hash
		}
		for _, s := range pr.Engines() {
			eng := observability.Engine{Profile: pr.Name, Service: s.Name, ConfigHash: hash}
			if names := s.Args.ServedNames(); len(names) > 0 && !vllm.HasUnknown(names[0]) {
				eng.Model = names[0]
			}
			var ports []observability.PublishedPort
			for i, pt := range s.Ports {
				raw := ""
				if i < len(s.Config.Ports) {
					raw = s.Config.Ports[pt.Index].Published
				}
				ports = append(ports, observability.PublishedPort{HostIP: pt.HostIP, Published: pt.Published, Raw: raw})
			}
			eng.Address, eng.Unknown = observability.Address(ports, v, dh)
			obj, err := ttftObjective(s)
			if err != nil {
				fmt.Fprintf(e.stderr, "vllmctl: profile %s: %v: no TTFT alert for it (run 'vllmctl check')\n", pr.Name, err)
			}
			eng.TTFTObjective = obj
			cfg.Engines = append(cfg.Engines, eng)
		}
	}
	conf, err := observability.ScrapeConfig(cfg)
	if err != nil {
		return err
	}
	rules, err := observability.AlertRules(cfg)
	if err != nil {
		return err
	}
	files := []exportFile{{observability.ConfigFile, conf}, {observability.RulesFile, rules}}
	if f.dashboards {
		d, err := dashboardFiles()
		if err != nil {
			return err
		}
		files = append(files, d...)
	}
	for _, n := range cfg.Notes() {
		fmt.Fprintln(e.stderr, "vllmctl: "+n)
	}
	return e.writeExport(f.dir, files)
}

// ttftObjective reads x-vllmctl.slo.ttft_p95 (the project's Ext type predates slo).
func ttftObjective(s *project.Service) (time.Duration, error) {
	if s.ExtRaw == nil {
		return 0, nil
	}
	b, err := json.Marshal(s.ExtRaw)
	if err != nil {
		return 0, nil
	}
	var ext struct {
		SLO struct {
			TTFTP95 string `json:"ttft_p95"`
		} `json:"slo"`
	}
	if json.Unmarshal(b, &ext) != nil || ext.SLO.TTFTP95 == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(ext.SLO.TTFTP95)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("x-vllmctl.slo.ttft_p95 %s is not a positive duration such as 2s or 500ms", strconv.Quote(ext.SLO.TTFTP95))
	}
	return d, nil
}

// exportFile is one file an export target writes.
type exportFile struct {
	name string
	data []byte
}

// writeExport writes files into dir (atomically), or prints them one after
// the other, each under a "# ==> NAME <==" line, when dir is empty.
func (e *env) writeExport(dir string, files []exportFile) error {
	if dir == "" || dir == "-" {
		for i, f := range files {
			if i > 0 {
				fmt.Fprintln(e.stdout)
			}
			fmt.Fprintf(e.stdout, "# ==> %s <==\n", f.name)
			if _, err := e.stdout.Write(f.data); err != nil {
				return err
			}
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := atomicfile.WriteFile(path, f.data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		fmt.Fprintln(e.stdout, "wrote "+path)
	}
	return nil
}
