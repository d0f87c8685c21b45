package dashboard

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/redact"
	"github.com/vllmctl/vllmctl/internal/serve"
	"github.com/vllmctl/vllmctl/internal/state"
	"github.com/vllmctl/vllmctl/internal/watchdog"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func readFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseOldAndNewNames(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Reading
	}{
		// both KV names published: the new one (almost empty) wins over the deprecated 0.5
		{"vllm-0.10-deprecated-names.prom", Reading{KV: 9.75010481363281e-06, HasKV: true, Running: 3, Waiting: 2, GenTokens: 27453, TTFTSum: 5.6, TTFTCount: 140}},
		{"vllm-0.8-old-names.prom", Reading{KV: 0.25, HasKV: true, GenTokens: 1000}},
		// two engines: counts summed, KV the fullest engine's
		{"vllm-dp2.prom", Reading{KV: 0.7, HasKV: true, Running: 9, Waiting: 1, GenTokens: 300, TTFTSum: 4, TTFTCount: 4}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := Parse(strings.NewReader(readFile(t, tc.file)))
			if err != nil {
				t.Fatal(err)
			}
			if got.HasKV != tc.want.HasKV || !near(got.KV, tc.want.KV) || got.Running != tc.want.Running || got.Waiting != tc.want.Waiting ||
				got.GenTokens != tc.want.GenTokens || !near(got.TTFTSum, tc.want.TTFTSum) || got.TTFTCount != tc.want.TTFTCount {
				t.Fatalf("Parse = %+v, want %+v", got, tc.want)
			}
		})
	}
	if _, err := Parse(strings.NewReader("vllm:num_requests_running{ 3\n")); err == nil {
		t.Fatal("Parse accepted a broken exposition")
	}
}

func TestNextRatesAndResets(t *testing.T) {
	t0 := time.Unix(1000, 0)
	first := next(t0, Reading{GenTokens: 100, TTFTSum: 1, TTFTCount: 2}, nil, time.Time{})
	if first.HasRate || first.HasTTFT || !first.Up {
		t.Fatalf("first point has rates: %+v", first)
	}
	prev := Reading{GenTokens: 100, TTFTSum: 1, TTFTCount: 2}
	p := next(t0.Add(5*time.Second), Reading{GenTokens: 150, TTFTSum: 2.5, TTFTCount: 5}, &prev, t0)
	if !p.HasRate || !near(p.TokensPerSec, 10) || !p.HasTTFT || !near(p.TTFT, 0.5) {
		t.Fatalf("50 tokens and 3 requests (1.5 s) in 5 s: %+v", p)
	}
	idle := next(t0.Add(5*time.Second), prev, &prev, t0)
	if idle.TokensPerSec != 0 || idle.HasTTFT {
		t.Fatalf("no traffic: %+v", idle)
	}
	// the engine restarted: counters start again from zero
	r := next(t0.Add(5*time.Second), Reading{GenTokens: 20, TTFTSum: 0.3, TTFTCount: 1}, &prev, t0)
	if !near(r.TokensPerSec, 4) || !near(r.TTFT, 0.3) {
		t.Fatalf("after a reset: %+v", r)
	}
}

// fakeSource is a serve daemon with fixed profiles, logs and a project root.
type fakeSource struct {
	mu   sync.Mutex
	snap serve.Snapshot
	p    *project.Project
	logs map[string][]string
}

func (f *fakeSource) Snapshot() serve.Snapshot { f.mu.Lock(); defer f.mu.Unlock(); return f.snap }
func (f *fakeSource) Project() *project.Project {
	return f.p
}
func (f *fakeSource) Logs(_ context.Context, profile string, _ time.Time, w func(string)) error {
	f.mu.Lock()
	lines, ok := f.logs[profile]
	f.mu.Unlock()
	if !ok {
		return errors.New("no such engine")
	}
	for _, l := range lines {
		w(l)
	}
	return nil
}

func (f *fakeSource) set(profile string, st watchdog.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.snap.Profiles {
		if f.snap.Profiles[i].Profile == profile {
			f.snap.Profiles[i].Watchdog = &watchdog.Status{State: st, Since: time.Now()}
		}
	}
}

// metricsServer serves body() as /metrics.
func metricsServer(t testing.TB, body func() string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(body()))
	}))
	t.Cleanup(srv.Close)
	return srv
}

const secret = "hf_SuperSecretToken0123456789"

func TestSamplerRound(t *testing.T) {
	var tokens atomic.Int64
	tokens.Store(1000)
	a := metricsServer(t, func() string {
		return strings.Replace(readFile(t, "vllm-0.8-old-names.prom"), "1000.0", strconv.FormatInt(tokens.Load(), 10)+".0", 1)
	})
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // refused: an engine not answering
	root := t.TempDir()
	st := state.Store{Dir: filepath.Join(root, ".vllmctl")}
	for i, rec := range []state.Record{
		{ID: "1", Profile: "alpha", Time: time.Unix(100, 0), Outcome: "ready", ReadySecs: 42},
		{ID: "2", Profile: "beta", Time: time.Unix(200, 0), Outcome: "failed", Diagnosis: "token " + secret + " rejected"},
	} {
		if err := st.Put(rec); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	src := &fakeSource{
		snap: serve.Snapshot{Profiles: []serve.ProfileState{{Profile: "alpha", BaseURL: a.URL, Ready: true}, {Profile: "beta", BaseURL: dead.URL}}},
		p:    &project.Project{Root: root, Config: project.Config{StateDir: ".vllmctl"}},
		logs: map[string][]string{"alpha": {
			"INFO 10-19 12:00:01 [api_server.py:1] vLLM API server version 0.11.0",
			"HF_TOKEN=" + secret,
			"(APIServer pid=1) INFO:     Application startup complete.",
		}},
	}
	now := time.Unix(10_000, 0)
	s := NewSampler(src, SamplerOptions{Interval: 5 * time.Second, LogLines: 2, Now: func() time.Time { return now },
		Redact: func(*project.Project) *redact.Redactor { return redact.New(secret) }})
	if s.Points() != 720 {
		t.Fatalf("an hour at 5s is %d points, want 720", s.Points())
	}
	s.Round(context.Background())
	now = now.Add(5 * time.Second)
	tokens.Store(1250)
	s.Round(context.Background())

	pts := s.Series("alpha")
	if len(pts) != 2 || !pts[0].Up || pts[0].HasRate || !pts[1].HasRate || !near(pts[1].TokensPerSec, 50) || !near(pts[1].KV, 0.25) {
		t.Fatalf("alpha's points: %+v", pts)
	}
	if b := s.Series("beta"); len(b) != 2 || b[0].Up || b[1].Up {
		t.Fatalf("beta (refused) points: %+v", b)
	}
	logs := s.Logs("alpha")
	if len(logs) != 2 || strings.Contains(logs[0].Text, secret) || !strings.Contains(logs[0].Text, "HF_TOKEN=") || logs[1].Phase != "ready" {
		t.Fatalf("alpha's tail (2 lines, secret masked, ready phase marked): %+v", logs)
	}
	if s.Logs("beta") != nil {
		t.Fatalf("beta's unreadable log: %+v", s.Logs("beta"))
	}
	deps := s.Deploys()
	if len(deps) != 2 || deps[0].Profile != "beta" || strings.Contains(deps[0].Diagnosis, secret) || deps[1].ReadySecs != 42 {
		t.Fatalf("deploys (newest first, masked): %+v", deps)
	}
	// a profile leaves the project: its memory goes too
	src.mu.Lock()
	src.snap.Profiles = src.snap.Profiles[:1]
	src.mu.Unlock()
	s.Round(context.Background())
	if s.Series("beta") != nil || len(s.Series("alpha")) != 3 {
		t.Fatalf("after beta left: beta %v, alpha %d points", s.Series("beta"), len(s.Series("alpha")))
	}
}

func TestSamplerRunStopsWithContext(t *testing.T) {
	src := &fakeSource{snap: serve.Snapshot{}}
	s := NewSampler(src, SamplerOptions{Interval: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.RLock()
		n := s.rounds
		s.mu.RUnlock()
		if n >= 3 {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("only %d rounds in 10s at 1ms", n)
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
