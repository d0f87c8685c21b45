package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/dashboard"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/metrics"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/promote"
	"github.com/vllmctl/vllmctl/internal/serve"
)

// newServer loads the project and wires a serve.Server for `serve` and
// `watch`: the flags' runtime, inventory and simulator, a text or JSON logger
// on stderr, and this run's secret masking.
func newServer(e *env, rt runtimeFlags, inv gpuFlags, logFormat string, pinned bool, metricsFor func(*project.Project) *metrics.Metrics) (*serve.Server, error) {
	p, err := e.load(project.Options{})
	if err != nil {
		return nil, err
	}
	rts, err := e.runtimes(p, rt, pinned)
	if err != nil {
		return nil, err
	}
	var h slog.Handler = slog.NewTextHandler(e.stderr, nil)
	if logFormat == "json" {
		h = slog.NewJSONHandler(e.stderr, nil)
	}
	log := slog.New(h)
	kr := newKubeRoutes(log)
	go func() { <-e.ctx.Done(); kr.Close() }()
	return serve.New(serve.Options{
		Root: e.root, Environ: e.environ, Images: e.images(), Project: p, Runtimes: rts, Logger: log, Metrics: metricsFor(p),
		Learn: e.learn, Redactor: redactorFor, Version: Version,
		Simulate: rt.simulate, SimBinary: rt.simBin, Remotes: kr.Remotes,
		Inventory: func(p *project.Project) []gpu.GPU {
			g, _, _ := e.inventory(p, inv)
			return g
		},
		Recover: func(ctx context.Context, p *project.Project) ([]string, error) {
			if pending, err := promoteJournals(p).Unfinished(); !pending {
				return nil, err
			}
			dep := deploy.NewLocated(p, rts)
			o := e.promoteOptions(p, dep, rt, inv)
			o.OnStep = nil
			recovered, err := promote.Recover(ctx, dep, o)
			var done []string
			for _, j := range recovered {
				done = append(done, fmt.Sprintf("promotion %s (%s over %s) was interrupted: %s, %s runs", j.ID, j.Candidate, j.Live, j.Outcome, j.Running))
			}
			return done, err
		},
	}), nil
}

// servedModels are the model names of every engine of p, for the metrics' closed label set.
func servedModels(p *project.Project) []string {
	var models []string
	for _, pr := range p.Profiles {
		for _, eng := range pr.Engines() {
			models = append(models, eng.ServedNames()...)
		}
	}
	return models
}

func newServeCmd(e *env) *cobra.Command {
	var rt runtimeFlags
	var inv gpuFlags
	var listen, logFormat string
	var noWatchdog, noDashboard bool
	var refresh time.Duration
	c := &cobra.Command{
		Use:   "serve",
		Short: "One OpenAI endpoint in front of every profile, with a watchdog",
		Long: `Serve listens on --listen and routes /v1/chat/completions, /v1/completions and
/v1/embeddings by the request's "model" to the engine that serves it (served
names and x-vllmctl aliases; /v1/models lists the ready ones). Request bytes go
upstream untouched with the engine's own API key; responses stream back as they
come. Routes reload as profiles are deployed, stopped or edited.

Profiles deployed with 'up --target kubernetes' (and not on this machine) are
routed through a port-forward to their pod that serve keeps open on 127.0.0.1
(through the API server, as kubectl port-forward; it finds the new pod when
the old one is gone), logged as each route appears.

Clients authenticate with gateway keys from the root .env:
  VLLMCTL_GATEWAY_KEY_<NAME>=<key>[|model1,model2]      (or sha256:<hex of the key>)
Without any key the gateway is open: keep it on 127.0.0.1.

The watchdog probes every engine each interval (/health and a timed 4-token
completion) and restarts wedged, hung or vanished engines with backoff, reports
crash loops, stalled boots and lost port forwards (x-vllmctl.watchdog tunes it).
A promotion that a killed vllmctl left unfinished (see promote) is finished at
the next refresh: the live profile or the candidate runs again.
Prometheus metrics are on /metrics of the same address, and a read-only web
dashboard on / (states, watchdog transitions, KV usage, tokens/s, TTFT, last
deploys, log tails; behind the gateway keys when any are set).`,
		Example: `  vllmctl serve
  vllmctl serve --listen 0.0.0.0:8080 --log-format json
  curl http://127.0.0.1:8080/v1/chat/completions -H "Authorization: Bearer $KEY" \
    -d '{"model":"medium","messages":[{"role":"user","content":"hi"}]}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg := prometheus.NewRegistry()
			s, err := newServer(e, rt, inv, logFormat, pinnedRuntime(cmd), func(p *project.Project) *metrics.Metrics { return metrics.New(reg, servedModels(p)) })
			if err != nil {
				return err
			}
			keys, err := serve.Keys(s.Project())
			if err != nil {
				return usageErr("%v", err)
			}
			if !noDashboard {
				d := dashboard.New(s, dashboard.Options{Keys: keys, Redact: redactorFor, Poll: refresh})
				d.Mount(s.Handle)
				go d.Run(e.ctx)
			}
			s.Refresh(e.ctx)
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return usageErr("listen %s: %v", listen, err)
			}
			return s.Serve(e.ctx, ln, serve.ServeOptions{Keys: keys, Registry: reg, Refresh: refresh, NoWatchdog: noWatchdog,
				Serving: func(addr net.Addr, models []string) {
					fmt.Fprintf(e.stdout, "vllmctl gateway on http://%s (models: %s)\n", addr, strings.Join(models, ", "))
					if !noDashboard {
						fmt.Fprintf(e.stdout, "dashboard on http://%s/\n", addr)
					}
				}})
		},
	}
	rt.register(c)
	inv.register(c)
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve on")
	c.Flags().StringVar(&logFormat, "log-format", "text", "text or json access and event log on stderr")
	c.Flags().BoolVar(&noWatchdog, "no-watchdog", false, "route only; do not probe or restart engines")
	c.Flags().BoolVar(&noDashboard, "no-dashboard", false, "do not serve the web dashboard on /")
	c.Flags().DurationVar(&refresh, "refresh", 2*time.Second, "how often routes and readiness are refreshed")
	return c
}

func newWatchCmd(e *env) *cobra.Command {
	var rt runtimeFlags
	var inv gpuFlags
	var once bool
	var logFormat string
	c := &cobra.Command{
		Use:   "watch",
		Short: "Run the watchdog alone: probe every profile, restart wedged or hung engines",
		Long: `Watch runs the watchdog of 'serve' without the gateway. With --once it takes
one observation of every profile and prints the state it decides (warmup,
healthy, unanswered, wedged, hung, down, crash-loop, stalled-boot,
port-forward-lost); -o json or yaml prints it as data.`,
		Example: "  vllmctl watch\n  vllmctl watch --once\n  vllmctl watch --once -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !once && e.output != formatTable {
				return &exitError{code: ExitUsage, err: fmt.Errorf("-o %s needs --once (the watchdog runs until stopped and logs with --log-format)", e.output)}
			}
			s, err := newServer(e, rt, inv, logFormat, pinnedRuntime(cmd), func(*project.Project) *metrics.Metrics { return metrics.New(prometheus.NewRegistry(), nil) })
			if err != nil {
				return err
			}
			s.Refresh(e.ctx)
			wd := s.NewWatchdog()
			if !once {
				wd.Run(e.ctx)
				return nil
			}
			wd.Restarter = nil // --once only reports
			wd.Cycle(e.ctx)
			names := slices.Sorted(maps.Keys(wd.Configs))
			type row struct {
				Profile string `json:"profile"`
				State   string `json:"state"`
				Reason  string `json:"reason,omitempty"`
			}
			rows := []row{}
			for _, n := range names {
				st := wd.Status(n)
				rows = append(rows, row{n, string(st.State), st.Reason})
			}
			return e.render(rows, func(w io.Writer) error {
				t := newTable(w, "PROFILE", "STATE", "REASON")
				for _, r := range rows {
					t.row(r.Profile, r.State, r.Reason)
				}
				return t.flush()
			})
		},
	}
	rt.register(c)
	inv.register(c)
	c.Flags().BoolVar(&once, "once", false, "one observation, print the states, exit")
	c.Flags().StringVar(&logFormat, "log-format", "text", "text or json")
	addOutput(c, e)
	return c
}
