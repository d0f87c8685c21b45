package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/redact"
	"github.com/vllmctl/vllmctl/internal/serve"
	"github.com/vllmctl/vllmctl/internal/state"
	"github.com/vllmctl/vllmctl/internal/watchdog"
)

// realisticScrape is a /metrics body of about a real vLLM 0.10's size: the
// testdata scrape, Python's and the process's metrics, and the latency and
// size histograms vLLM publishes (FACTS.md §2.3), 22 buckets each.
func realisticScrape(t testing.TB) string {
	var b strings.Builder
	for g := range 3 {
		fmt.Fprintf(&b, "python_gc_objects_collected_total{generation=\"%d\"} 12286.0\n", g)
	}
	b.WriteString("process_virtual_memory_bytes 1.1701968896e+010\nprocess_cpu_seconds_total 439.7\n")
	b.WriteString(readFile(t, "vllm-0.10-deprecated-names.prom"))
	for _, h := range []string{"e2e_request_latency_seconds", "request_queue_time_seconds", "request_inference_time_seconds", "request_prefill_time_seconds",
		"request_decode_time_seconds", "inter_token_latency_seconds", "request_prompt_tokens", "request_generation_tokens", "request_params_max_tokens", "iteration_tokens_total"} {
		fmt.Fprintf(&b, "# HELP vllm:%s Histogram.\n# TYPE vllm:%s histogram\n", h, h)
		for i := range 22 {
			fmt.Fprintf(&b, "vllm:%s_bucket{engine=\"0\",le=\"%g\",model_name=\"Qwen/Qwen3-8B\"} %d.0\n", h, 0.001*float64(int(1)<<i), i*10)
		}
		fmt.Fprintf(&b, "vllm:%s_bucket{engine=\"0\",le=\"+Inf\",model_name=\"Qwen/Qwen3-8B\"} 220.0\nvllm:%s_count{engine=\"0\",model_name=\"Qwen/Qwen3-8B\"} 220.0\nvllm:%s_sum{engine=\"0\",model_name=\"Qwen/Qwen3-8B\"} 97.5\n", h, h, h)
	}
	return b.String()
}

// benchSource is 8 profiles on httptest engines, each with a 40-line log,
// 20 watchdog transitions and 50 deploy records on disk.
func benchSource(b *testing.B) *fakeSource {
	body := realisticScrape(b)
	srv := metricsServer(b, func() string { return body })
	root := b.TempDir()
	st := state.Store{Dir: filepath.Join(root, ".vllmctl")}
	src := &fakeSource{p: &project.Project{Root: root, Config: project.Config{StateDir: ".vllmctl"}}, logs: map[string][]string{}}
	now := time.Now()
	for i := range 8 {
		name := fmt.Sprintf("profile-%d", i)
		src.snap.Profiles = append(src.snap.Profiles, serve.ProfileState{Profile: name, Models: []string{name}, BaseURL: srv.URL, Ready: true, Since: now,
			Watchdog: &watchdog.Status{State: watchdog.Healthy, Since: now}})
		for j := range 40 {
			src.logs[name] = append(src.logs[name], fmt.Sprintf("(APIServer pid=1) INFO 10-19 12:00:%02d [loggers.py:123] Engine 000: Avg prompt throughput: 1.0 tokens/s, line %d", j, j))
		}
		src.snap.Transitions = append(src.snap.Transitions, watchdog.Transition{Profile: name, From: watchdog.Warmup, To: watchdog.Healthy, Action: watchdog.None, Time: now},
			watchdog.Transition{Profile: name, From: watchdog.Healthy, To: watchdog.Wedged, Action: watchdog.Restart, Reason: "2 completions missed", Time: now})
	}
	for j := range 50 {
		if err := st.Put(state.Record{ID: fmt.Sprint(j), Profile: fmt.Sprintf("profile-%d", j%8), Time: now.Add(time.Duration(j) * time.Minute), Outcome: "ready", ReadySecs: 42}); err != nil {
			b.Fatal(err)
		}
	}
	return src
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRender8: the page (GET /) with 8 profiles, each ring full (an
// hour at 5 s: 720 points per profile), 40 log lines each, 16 transitions and
// 10 deploys shown. Issue 15: under 200 ms of server time.
func BenchmarkRender8(b *testing.B) {
	src := benchSource(b)
	d := New(src, Options{Redact: func(*project.Project) *redact.Redactor { return redact.New(secret) }})
	s := d.Sampler()
	start := time.Now().Add(-time.Hour)
	for i := range s.Points() {
		t := start.Add(time.Duration(i) * 5 * time.Second)
		s.o.Now = func() time.Time { return t }
		s.Round(context.Background())
	}
	if n := len(s.Series("profile-0")); n != 720 {
		b.Fatalf("ring holds %d points, want 720", n)
	}
	h := d.Handler()
	b.ResetTimer()
	size := 0
	for b.Loop() {
		r := get(b, h, "/", nil)
		if r.StatusCode != http.StatusOK {
			b.Fatal(r.Status)
		}
		size = len(body(b, r))
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
	b.ReportMetric(float64(size)/1024, "KiB/page")
}

// BenchmarkSampleRound8: one sampling round of 8 profiles (scrape and parse
// each /metrics of realisticScrape's size, a 40-line log tail each, the deploy
// history); the CPU time of the whole process per round (the httptest engines
// included, so an upper bound) and, at one round every 5 s, the share of one
// core. Issue 15: under 1 %.
func BenchmarkSampleRound8(b *testing.B) {
	src := benchSource(b)
	s := NewSampler(src, SamplerOptions{Interval: 5 * time.Second})
	s.Round(context.Background())
	b.ResetTimer()
	c0 := cpuTime()
	for b.Loop() {
		s.Round(context.Background())
	}
	perRound := (cpuTime() - c0) / time.Duration(b.N)
	if pts := s.Series("profile-7"); len(pts) < 2 || !pts[len(pts)-1].Up || pts[len(pts)-1].Running != 3 {
		b.Fatalf("last round did not read profile-7: %+v", pts[len(pts)-1])
	}
	b.ReportMetric(float64(perRound.Microseconds())/1000, "cpu-ms/round")
	b.ReportMetric(100*perRound.Seconds()/s.o.Interval.Seconds(), "%core@5s")
}

// BenchmarkGatewayRoute: a gateway request's trip through serve's mux, without
// and with the dashboard mounted (its patterns are exact: "/" and /dashboard/…),
// alternating request by request so that load from elsewhere hits both alike;
// the gateway's figures must not get worse.
func BenchmarkGatewayRoute(b *testing.B) {
	gw := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	muxes := [2]*http.ServeMux{http.NewServeMux(), http.NewServeMux()}
	New(&fakeSource{}, Options{}).Mount(muxes[1].Handle)
	for _, m := range muxes {
		m.Handle("GET /metrics", http.NotFoundHandler())
		m.Handle("/", gw)
	}
	// Per mux, the fastest of batches of 200 requests: the machine is shared,
	// and the fastest batch is the one the least disturbed.
	best := [2]time.Duration{time.Hour, time.Hour}
	reqs := make([]*http.Request, 200)
	for b.Loop() {
		for i, m := range muxes {
			for j := range reqs {
				reqs[j] = httptest.NewRequest("POST", "/v1/chat/completions", nil)
			}
			w := httptest.NewRecorder()
			t0 := time.Now()
			for _, req := range reqs {
				m.ServeHTTP(w, req)
			}
			best[i] = min(best[i], time.Since(t0)/time.Duration(len(reqs)))
			if w.Code != http.StatusNoContent {
				b.Fatal(w.Code)
			}
		}
	}
	b.ReportMetric(float64(best[0].Nanoseconds()), "ns/route-without")
	b.ReportMetric(float64(best[1].Nanoseconds()), "ns/route-with")
	b.ReportMetric(best[1].Seconds()/best[0].Seconds(), "ratio")
}
