package observability

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/vllmctl/vllmctl/internal/freeport"
	"github.com/vllmctl/vllmctl/internal/metrics"
	"github.com/vllmctl/vllmctl/internal/sim"
	"go.yaml.in/yaml/v4"
)

// notSimulated are real vLLM metrics (FACTS.md §2) a panel reads that
// vllm-sim does not serve, with why they are allowed anyway.
var notSimulated = map[string]string{
	"vllm:num_preemptions_total": "vLLM V1 counter (FACTS.md §2.3); vllm-sim does not simulate preemption",
}

// family is a metric family's name and whether it is a histogram.
type family struct {
	name string
	hist bool
}

// simMetricNames scrapes a real vllm-sim's /metrics (in-process, loopback).
func simMetricNames(t *testing.T) []family {
	t.Helper()
	port := freeport.T(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	args := []string{"--model", "Qwen/Qwen3-0.6B", "--host", "127.0.0.1", "--port", fmt.Sprint(port), "--max-model-len", "4096",
		"--sim-phase-time=0", "--sim-load-time=0", "--sim-compile-time=0", "--sim-graph-time=0"}
	go func() { sim.Main(ctx, args, map[string]string{}, io.Discard, io.Discard); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
		if err == nil {
			defer resp.Body.Close()
			p := expfmt.NewTextParser(model.LegacyValidation)
			fams, err := p.TextToMetricFamilies(resp.Body)
			if err != nil {
				t.Fatalf("vllm-sim /metrics: %v", err)
			}
			var out []family
			for _, f := range fams {
				out = append(out, family{f.GetName(), f.GetType().String() == "HISTOGRAM"})
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("vllm-sim did not serve /metrics within 20s: %v", err)
		}
		<-tick.C
	}
}

// exposed is every series name vllm-sim and vllmctl serve, histogram and
// summary suffixes included, plus the older names of renamed metrics.
func exposed(t *testing.T) map[string]string {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, []string{"m"})
	m.Request("m", "/v1/chat/completions", 200, time.Second, time.Millisecond)
	m.InFlight(1)
	m.UpstreamError("p")
	m.Retry("m")
	m.EngineReady("p", true)
	m.Transition("p", "warmup", "healthy", "none")
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{"up": "Prometheus"}
	add := func(f family, who string) {
		n := f.name
		out[n] = who
		if f.hist {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				out[n+s] = who
			}
		}
	}
	for _, f := range fams {
		add(family{f.GetName(), f.GetType().String() == "HISTOGRAM"}, "vllmctl")
	}
	for _, f := range simMetricNames(t) {
		add(f, "vllm-sim")
	}
	for old, cur := range Renamed() {
		for _, s := range []string{"", "_bucket", "_sum", "_count"} {
			if who, ok := out[cur+s]; ok {
				out[old+s] = who + " (older name of " + cur + s + ")"
			}
		}
	}
	for n, why := range notSimulated {
		out[n] = why
	}
	return out
}

var metricRef = regexp.MustCompile(`\b(vllm:[a-z0-9_:]+|vllmctl_[a-z0-9_]+|up)\b`)

// panelExprs substitutes Grafana's variables so that promtool can parse them.
func panelExprs(d Dashboard) map[string]string {
	out := map[string]string{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			e := strings.NewReplacer("$"+VarProfile, ".*", VarRateInterval, "5m").Replace(tg.Expr)
			out[fmt.Sprintf("%s panel %d %q %s", d.UID, p.ID, p.Title, tg.RefID)] = e
		}
	}
	return out
}

// TestDashboardsQueriesParseAndReadExposedMetrics: every panel's PromQL
// parses (promtool check rules on them as recording rules) and reads only
// metrics that vllm-sim or vllmctl serve, under either name generation.
func TestDashboardsQueriesParseAndReadExposedMetrics(t *testing.T) {
	allowed := exposed(t)
	type rec struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var recs []rec
	used := map[string]bool{}
	for file, d := range Dashboards() {
		if len(d.Panels) < 6 {
			t.Errorf("%s: %d panels, want the full set", file, len(d.Panels))
		}
		if d.Templating.List[0].Type != "datasource" || d.Templating.List[0].Name != VarDatasource {
			t.Errorf("%s: the first variable is not the datasource: %+v", file, d.Templating.List[0])
		}
		ids := map[int]bool{}
		for _, p := range d.Panels {
			if ids[p.ID] {
				t.Errorf("%s: panel id %d twice", file, p.ID)
			}
			ids[p.ID] = true
			if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
				t.Errorf("%s: panel %q: datasource %q, %d queries", file, p.Title, p.Datasource.UID, len(p.Targets))
			}
		}
		exprs := panelExprs(d)
		keys := make([]string, 0, len(exprs))
		for k := range exprs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			e := exprs[k]
			recs = append(recs, rec{Record: fmt.Sprintf("vllmctl:panel_query_%d", len(recs)), Expr: e})
			refs := metricRef.FindAllString(e, -1)
			if len(refs) == 0 {
				t.Errorf("%s reads no metric: %s", k, e)
			}
			for _, n := range refs {
				used[n] = true
				if _, ok := allowed[n]; !ok {
					t.Errorf("%s reads %s, which neither vllm-sim nor vllmctl serves: %s", k, n, e)
				}
			}
		}
	}
	// the dashboards read the old names too, and the quantities
	for _, n := range []string{"vllm:gpu_cache_usage_perc", "vllm:kv_cache_usage_perc", "vllm:time_per_output_token_seconds_bucket",
		"vllm:inter_token_latency_seconds_bucket", "vllm:time_to_first_token_seconds_bucket", "vllm:generation_tokens_total",
		"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:num_preemptions_total",
		"vllmctl_gateway_requests_total", "vllmctl_gateway_request_duration_seconds_bucket", "vllmctl_watchdog_state"} {
		if !used[n] {
			t.Errorf("no panel reads %s", n)
		}
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "panels", "rules": recs}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "panels.yml"), b)
	out := promtool(t, dir, "check", "rules", "panels.yml")
	if !strings.Contains(out, fmt.Sprintf("SUCCESS: %d rules found", len(recs))) {
		t.Errorf("promtool check rules on the panels' queries:\n%s", out)
	}
}

// TestRulesReadExposedMetrics: the alert rules, too, read only metrics that
// vllm-sim, vllmctl or a GPU exporter serve.
func TestRulesReadExposedMetrics(t *testing.T) {
	allowed := exposed(t)
	for _, g := range Rules(testConfig()).Groups {
		for _, r := range g.Rules {
			for _, n := range metricRef.FindAllString(r.Expr, -1) {
				if _, ok := allowed[n]; !ok {
					t.Errorf("%s reads %s, which neither vllm-sim nor vllmctl serves: %s", r.Alert, n, r.Expr)
				}
			}
		}
	}
}

func TestDashboardJSONIsStable(t *testing.T) {
	for file, d := range Dashboards() {
		a, err := DashboardJSON(d)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := DashboardJSON(d)
		if string(a) != string(b) || !strings.Contains(string(a), `"uid": "${datasource}"`) {
			t.Errorf("%s: not stable or no datasource variable", file)
		}
	}
}
