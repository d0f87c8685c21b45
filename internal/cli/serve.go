package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/gateway"
	"github.com/vllmctl/vllmctl/internal/metrics"
	"github.com/vllmctl/vllmctl/internal/monitor"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/runtime"
	"github.com/vllmctl/vllmctl/internal/vllm"
	"github.com/vllmctl/vllmctl/internal/watchdog"
)

// server wires the gateway, the watchdog and the runtime for `serve` and `watch`.
type server struct {
	e   *env
	rt  runtimeFlags
	be  runtime.Backend  // the runtime of new deploys (the flags')
	rts *deploy.Runtimes // where each deployed profile runs (its record)
	log *slog.Logger
	m   *metrics.Metrics
	inv gpuFlags
	// routes is what the gateway reads: each refresh builds a new table of
	// new Upstreams and swaps it in whole; a published table is never changed.
	routes    gateway.Snapshot
	refreshMu sync.Mutex // one refresh at a time, so an older view never lands last
	mu        sync.Mutex
	p         *project.Project
	insts     map[string]runtime.Instance
	phases    map[string]int
	phaseAt   map[string]time.Time
	starting  sync.Mutex
}

func (s *server) project() *project.Project {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.p
}

// refresh reloads the project and the running engines and publishes new routes.
func (s *server) refresh(ctx context.Context) {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	p, err := project.Load(ctx, project.Options{Root: s.e.root, Environ: s.e.environ})
	if err != nil {
		s.log.Warn("reload project", "err", err)
		return
	}
	s.e.learn(p) // a key added to .env while serve runs is masked from now on
	insts, unreachable, err := deploy.NewLocated(p, s.rts).Instances(ctx)
	if err != nil {
		s.log.Warn("list engines", "err", err)
	}
	byProfile := map[string]runtime.Instance{}
	for _, in := range insts {
		byProfile[in.Profile] = in
	}
	s.mu.Lock()
	// A runtime that cannot be reached (the Docker API restarting) says
	// nothing about its engines: keep what was last seen of them, and let the
	// health probe decide whether they answer.
	for name, in := range s.insts {
		if _, listed := byProfile[name]; listed {
			continue
		}
		if _, lost := unreachable[name]; lost || err != nil {
			byProfile[name] = in
		}
	}
	s.p, s.insts = p, byProfile
	s.mu.Unlock()
	prev := map[string]*gateway.Upstream{}
	for _, ups := range s.routes.Table() {
		for _, u := range ups {
			prev[u.Profile] = u
		}
	}
	client := &http.Client{Timeout: 2 * time.Second}
	ups := make([]*gateway.Upstream, len(p.Profiles))
	var wg sync.WaitGroup
	for i, pr := range p.Profiles {
		engines := pr.Engines()
		if len(engines) == 0 {
			continue
		}
		eng := engines[0]
		in, running := byProfile[pr.Name]
		port := eng.HostPort()
		if running && in.HostPort != 0 {
			port = in.HostPort
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := fmt.Sprintf("http://127.0.0.1:%d", port)
			ready, reason := false, "not deployed"
			if running && in.State == "running" {
				pb := &monitor.HTTPProber{BaseURL: base, Client: client}
				if err := pb.Health(ctx); err == nil {
					ready, reason = true, ""
				} else {
					reason = "loading or not answering (" + strings.TrimSpace(lastPart(err.Error())) + ")"
				}
			} else if running {
				reason = in.State
			}
			u := &gateway.Upstream{Profile: pr.Name, BaseURL: base, APIKey: eng.Args.APIKey, Ready: ready, Reason: reason,
				Since: time.Now(), OnDemand: eng.Ext != nil && eng.Ext.OnDemand, Served: eng.Args.ServedNames()}
			if old := prev[pr.Name]; old != nil && old.Ready == ready && old.Reason == reason {
				u.Since = old.Since
			}
			ups[i] = u
			if s.m != nil {
				s.m.EngineReady(pr.Name, ready)
			}
		}()
	}
	wg.Wait()
	table := gateway.Table{}
	for i, pr := range p.Profiles {
		if ups[i] == nil {
			continue
		}
		for _, name := range pr.Engines()[0].ServedNames() {
			table[name] = append(table[name], ups[i])
		}
	}
	s.routes.Store(table)
}

func lastPart(s string) string {
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// Observe implements watchdog.Observer.
func (s *server) Observe(ctx context.Context, profile string, probe watchdog.Probe) watchdog.Observation {
	s.mu.Lock()
	p, in, deployed := s.p, s.insts[profile], false
	if _, ok := s.insts[profile]; ok {
		deployed = true
	}
	s.mu.Unlock()
	var o watchdog.Observation
	o.Deployed, o.Restarts, o.StartedAt = deployed, in.RestartCount, in.StartedAt
	o.Running, o.Paused = in.State == "running" || in.State == "paused", in.State == "paused"
	if !deployed || p == nil || o.Paused {
		return o // a paused engine cannot answer: the decision table knows
	}
	pr, err := p.Profile(profile)
	if err != nil || len(pr.Engines()) == 0 {
		return o
	}
	eng := pr.Engines()[0]
	health := &http.Client{Timeout: probe.Health}
	pb := &monitor.HTTPProber{BaseURL: fmt.Sprintf("http://127.0.0.1:%d", in.HostPort), APIKey: eng.Args.APIKey, Client: health, MaxTokens: 4}
	o.HealthErr = pb.Health(ctx)
	if o.HealthErr != nil && in.InNetwork != "" {
		// Does it answer inside its network? Then the published port is what is lost.
		inner := &monitor.HTTPProber{BaseURL: "http://" + in.InNetwork, Client: health}
		o.InNetworkKnown, o.InNetworkErr = true, inner.Health(ctx)
	}
	if o.HealthErr == nil {
		pb.Client = &http.Client{Timeout: probe.Completion}
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, probe.Completion)
		o.CompletionErr = pb.Complete(cctx, eng.Args.ServedNames()[0])
		cancel()
		o.CompletionTime = time.Since(start)
	}
	// Boot progress and the cause of failures, from the log.
	be, berr := s.rts.ForInstance(ctx, in)
	if berr != nil {
		be = s.be
	}
	if rc, err := be.Logs(ctx, in, false, time.Time{}); err == nil {
		phases := 0
		_ = deploy.ReadLines(rc, func(l string) {
			info := vllm.ClassifyLine(l)
			switch info.Kind {
			case vllm.KindPhase:
				phases++
			case vllm.KindFatal:
				if f, ok := vllm.FatalByName(info.Fatal); ok && info.Fatal != "engine-failed" {
					o.Cause = f.Diagnosis
				}
			}
		})
		rc.Close()
		s.mu.Lock()
		if phases != s.phases[profile] {
			s.phases[profile], s.phaseAt[profile] = phases, time.Now()
		}
		o.LastPhaseAt = s.phaseAt[profile]
		s.mu.Unlock()
	}
	if o.Cause == "" {
		o.Cause = emptyCacheCause(eng)
	}
	return o
}

// emptyCacheCause names an empty Hugging Face cache bind mount, the usual cause of a silent boot.
func emptyCacheCause(eng *project.Service) string {
	for _, v := range eng.Config.Volumes {
		if v.Type == "bind" && strings.Contains(v.Target, "huggingface") {
			ents, err := os.ReadDir(v.Source)
			if err != nil || len(ents) == 0 {
				return fmt.Sprintf("the Hugging Face cache mount %s is empty or missing: the model is being downloaded again", v.Source)
			}
		}
	}
	return ""
}

// Restart implements watchdog.Restarter by replaying the profile's last
// recorded deploy (its runtime, Compose CLI, simulator binary and resolved
// file); a profile never deployed through vllmctl is deployed with serve's flags.
func (s *server) Restart(ctx context.Context, profile, reason string) error {
	p := s.project()
	o := deploy.UpOptions{Version: Version, Completion: true, Trigger: "watchdog: " + reason, Redact: redactorFor(p)}
	_, err := deploy.NewLocated(p, s.rts).Replay(ctx, profile, o)
	if errors.Is(err, deploy.ErrNoRecord) {
		inv, _, _ := s.e.inventory(p, s.inv)
		o.Simulate, o.SimBinary, o.Inventory = s.rt.simulate, s.rt.simBin, inv
		_, err = deploy.New(p, s.be).Up(ctx, profile, o)
	}
	s.refresh(ctx)
	return err
}

// Start implements gateway.Starter: an on-demand profile is deployed on its
// first request, after stopping the profiles of its group that hold its GPUs.
func (s *server) Start(ctx context.Context, model string) error {
	s.starting.Lock()
	defer s.starting.Unlock()
	p := s.project()
	var target *project.Profile
	for _, pr := range p.Profiles {
		for _, eng := range pr.Engines() {
			for _, n := range eng.ServedNames() {
				if n == model && eng.Ext != nil && eng.Ext.OnDemand {
					target = pr
				}
			}
		}
	}
	if target == nil {
		return fmt.Errorf("no on-demand profile serves %s", model)
	}
	if u := s.routes.Table()[model]; len(u) > 0 && u[0].Ready {
		return nil // started meanwhile
	}
	eng := target.Engines()[0]
	group := ""
	if eng.Ext != nil {
		group = eng.Ext.Group
	}
	s.mu.Lock()
	insts := s.insts
	s.mu.Unlock()
	dep := deploy.NewLocated(p, s.rts) // evicted profiles are found where they run
	for _, pr := range p.Profiles {
		if pr.Name == target.Name {
			continue
		}
		if _, running := insts[pr.Name]; !running || len(pr.Engines()) == 0 {
			continue
		}
		other := pr.Engines()[0]
		if !sharesGPU(eng, other) {
			continue
		}
		if group == "" || other.Ext == nil || other.Ext.Group != group {
			return fmt.Errorf("GPUs of %s are held by %s, which is not in its swap group", target.Name, pr.Name)
		}
		s.log.Info("evicting for on-demand start", "profile", pr.Name, "for", target.Name)
		if err := dep.Down(ctx, pr.Name, deploy.DownOptions{}); err != nil {
			return err
		}
	}
	inv, _, _ := s.e.inventory(p, s.inv)
	// Replace: serve has nobody to ask, and the group's members were stopped above.
	_, err := deploy.New(p, s.be).Up(ctx, target.Name, deploy.UpOptions{Version: Version, Simulate: s.rt.simulate, SimBinary: s.rt.simBin, Inventory: inv,
		Completion: true, Replace: true, Trigger: "on-demand: first request for " + model, Redact: redactorFor(p)})
	s.refresh(ctx)
	return err
}

func sharesGPU(a, b *project.Service) bool {
	if a.GPUs.All || b.GPUs.All {
		return true
	}
	for _, x := range a.GPUs.IDs {
		for _, y := range b.GPUs.IDs {
			if x == y {
				return true
			}
		}
	}
	return false
}

// watchdogConfigs reads x-vllmctl.watchdog of every engine.
func watchdogConfigs(p *project.Project) map[string]watchdog.Config {
	out := map[string]watchdog.Config{}
	for _, pr := range p.Profiles {
		for _, eng := range pr.Engines() {
			var c watchdog.Config
			if eng.Ext != nil && len(eng.Ext.Watchdog) > 0 {
				var raw struct {
					Interval           string `json:"interval"`
					Warmup             string `json:"warmup"`
					CompletionDeadline string `json:"completion_deadline"`
					HealthTimeout      string `json:"health_timeout"`
					StallAfter         string `json:"stall_after"`
					WedgeAfter         int    `json:"wedge_after"`
					HungAfter          int    `json:"hung_after"`
					Restart            *bool  `json:"restart"`
				}
				_ = json.Unmarshal(eng.Ext.Watchdog, &raw) // shapes are checked against the schema by check
				c.Interval, _ = time.ParseDuration(raw.Interval)
				c.Warmup, _ = time.ParseDuration(raw.Warmup)
				c.CompletionDeadline, _ = time.ParseDuration(raw.CompletionDeadline)
				c.HealthTimeout, _ = time.ParseDuration(raw.HealthTimeout)
				c.StallAfter, _ = time.ParseDuration(raw.StallAfter)
				c.WedgeAfter, c.HungAfter = raw.WedgeAfter, raw.HungAfter
				c.NoRestart = raw.Restart != nil && !*raw.Restart
			}
			out[pr.Name] = c
		}
	}
	return out
}

func newServer(e *env, rt runtimeFlags, inv gpuFlags, logFormat string, pinned bool) (*server, error) {
	p, err := e.load(project.Options{})
	if err != nil {
		return nil, err
	}
	rts, err := e.runtimes(p, rt, pinned)
	if err != nil {
		return nil, err
	}
	be := rts.Default
	var h slog.Handler = slog.NewTextHandler(e.stderr, nil)
	if logFormat == "json" {
		h = slog.NewJSONHandler(e.stderr, nil)
	}
	s := &server{e: e, rt: rt, be: be, rts: rts, log: slog.New(h), p: p, inv: inv, phases: map[string]int{}, phaseAt: map[string]time.Time{}}
	return s, nil
}

func gatewayKeys(p *project.Project) ([]gateway.Key, error) {
	var keys []gateway.Key
	if p.Env == nil {
		return nil, nil
	}
	for _, k := range p.Env.Keys() {
		name, ok := strings.CutPrefix(k, "VLLMCTL_GATEWAY_KEY_")
		if !ok || p.Env.Values[k] == "" {
			continue
		}
		key, err := gateway.ParseKey(name, p.Env.Values[k])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", p.Env.Path, p.Env.Lines[k], err)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

func newServeCmd(e *env) *cobra.Command {
	var rt runtimeFlags
	var inv gpuFlags
	var listen, logFormat string
	var noWatchdog bool
	var refresh time.Duration
	c := &cobra.Command{
		Use:   "serve",
		Short: "One OpenAI endpoint in front of every profile, with a watchdog",
		Long: `Serve listens on --listen and routes /v1/chat/completions, /v1/completions and
/v1/embeddings by the request's "model" to the engine that serves it (served
names and x-vllmctl aliases; /v1/models lists the ready ones). Request bytes go
upstream untouched with the engine's own API key; responses stream back as they
come. Routes reload as profiles are deployed, stopped or edited.

Clients authenticate with gateway keys from the root .env:
  VLLMCTL_GATEWAY_KEY_<NAME>=<key>[|model1,model2]      (or sha256:<hex of the key>)
Without any key the gateway is open: keep it on 127.0.0.1.

The watchdog probes every engine each interval (/health and a timed 4-token
completion) and restarts wedged, hung or vanished engines with backoff, reports
crash loops, stalled boots and lost port forwards (x-vllmctl.watchdog tunes it).
Prometheus metrics are on /metrics of the same address.`,
		Example: `  vllmctl serve
  vllmctl serve --listen 0.0.0.0:8080 --log-format json
  curl http://127.0.0.1:8080/v1/chat/completions -H "Authorization: Bearer $KEY" \
    -d '{"model":"medium","messages":[{"role":"user","content":"hi"}]}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := newServer(e, rt, inv, logFormat, pinnedRuntime(cmd))
			if err != nil {
				return err
			}
			keys, err := gatewayKeys(s.p)
			if err != nil {
				return usageErr("%v", err)
			}
			reg := prometheus.NewRegistry()
			var models []string
			for _, pr := range s.p.Profiles {
				for _, eng := range pr.Engines() {
					models = append(models, eng.ServedNames()...)
				}
			}
			s.m = metrics.New(reg, models)
			s.refresh(e.ctx)
			g := gateway.New(&s.routes, gateway.Options{Keys: keys, Logger: s.log, Observer: s.m, Starter: s})
			mux := http.NewServeMux()
			mux.Handle("/", g.Handler())
			mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return usageErr("listen %s: %v", listen, err)
			}
			if len(keys) == 0 && !isLoopback(ln.Addr()) {
				s.log.Warn("no gateway key in .env: the gateway is open to the network", "listen", ln.Addr().String())
			}
			srv := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}
			ctx, cancel := context.WithCancel(e.ctx)
			defer cancel()
			go func() {
				t := time.NewTicker(refresh)
				defer t.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-t.C:
						s.refresh(ctx)
					}
				}
			}()
			if !noWatchdog {
				wd := &watchdog.Watchdog{Configs: watchdogConfigs(s.project()), Observer: s, Restarter: s, Log: s.log,
					OnChange: func(t watchdog.Transition) { s.m.Transition(t.Profile, string(t.From), string(t.To), string(t.Action)) }}
				go wd.Run(ctx)
			}
			s.log.Info("serving", "listen", ln.Addr().String(), "profiles", len(s.p.Profiles), "keys", len(keys))
			fmt.Fprintf(e.stdout, "vllmctl gateway on http://%s (models: %s)\n", ln.Addr(), strings.Join(sortedModels(s.routes.Table()), ", "))
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-e.ctx.Done():
			}
			s.log.Info("draining")
			dctx, dcancel := context.WithTimeout(context.Background(), 35*time.Second)
			defer dcancel()
			if err := g.Drain(dctx); err != nil {
				s.log.Warn("drain", "err", err)
			}
			return srv.Shutdown(dctx)
		},
	}
	rt.register(c)
	inv.register(c)
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve on")
	c.Flags().StringVar(&logFormat, "log-format", "text", "text or json access and event log on stderr")
	c.Flags().BoolVar(&noWatchdog, "no-watchdog", false, "route only; do not probe or restart engines")
	c.Flags().DurationVar(&refresh, "refresh", 2*time.Second, "how often routes and readiness are refreshed")
	return c
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

func sortedModels(t gateway.Table) []string {
	var out []string
	for n := range t {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
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
			if err := e.checkOutput(); err != nil {
				return err
			}
			if !once && e.output != "table" {
				return &exitError{code: ExitUsage, err: fmt.Errorf("-o %s needs --once (the watchdog runs until stopped and logs with --log-format)", e.output)}
			}
			s, err := newServer(e, rt, inv, logFormat, pinnedRuntime(cmd))
			if err != nil {
				return err
			}
			s.m = metrics.New(prometheus.NewRegistry(), nil)
			s.refresh(e.ctx)
			wd := &watchdog.Watchdog{Configs: watchdogConfigs(s.p), Observer: s, Restarter: s, Log: s.log}
			if !once {
				wd.Run(e.ctx)
				return nil
			}
			wd.Restarter = nil // --once only reports
			wd.Cycle(e.ctx)
			var names []string
			for n := range wd.Configs {
				names = append(names, n)
			}
			sort.Strings(names)
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
			if e.output != "table" {
				return writeData(e.stdout, e.output, rows)
			}
			t := newTable(e.stdout, "PROFILE", "STATE", "REASON")
			for _, r := range rows {
				t.row(r.Profile, r.State, r.Reason)
			}
			return t.flush()
		},
	}
	rt.register(c)
	inv.register(c)
	c.Flags().BoolVar(&once, "once", false, "one observation, print the states, exit")
	c.Flags().StringVar(&logFormat, "log-format", "text", "text or json")
	addOutput(c, e)
	return c
}
