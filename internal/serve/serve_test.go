package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/freeport"
	"github.com/vllmctl/vllmctl/internal/gateway"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/runtime"
	"github.com/vllmctl/vllmctl/internal/sim"
)

// flipBackend is a runtime.Backend whose List answers that engine "a" runs
// and "b" has exited, then the other way round, alternating on every call:
// each refresh routes the alias to the other engine.
type flipBackend struct {
	runtime.Backend // only List is called by refresh
	ports           map[string]int
	calls           atomic.Int64
}

func (f *flipBackend) List(context.Context, string, string) ([]runtime.Instance, error) {
	n := f.calls.Add(1)
	state := map[bool]runtime.State{true: runtime.Running, false: runtime.Exited}
	return []runtime.Instance{
		{Profile: "a", State: state[n%2 == 0], HostPort: f.ports["a"], StartedAt: time.Unix(n, 0)},
		{Profile: "b", State: state[n%2 == 1], HostPort: f.ports["b"], StartedAt: time.Unix(n, 0)},
	}, nil
}

// simEngine runs vllm-sim in-process on a free loopback port until the test ends.
func simEngine(t *testing.T, args ...string) int {
	t.Helper()
	port := freeport.T(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	all := append([]string{"--host", "127.0.0.1", "--port", fmt.Sprint(port), "--disable-uvicorn-access-log", "--max-num-seqs", "2048",
		"--sim-phase-time=0", "--sim-load-time=0", "--sim-compile-time=0", "--sim-graph-time=0", "--sim-ttft=0", "--sim-prefill-per-token=0"}, args...)
	go func() { sim.Main(ctx, all, map[string]string{}, io.Discard, io.Discard); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
		if err == nil {
			resp.Body.Close()
			return port
		}
		select {
		case <-deadline:
			t.Fatalf("vllm-sim on port %d did not answer /health in 10s: %v", port, err)
		case <-tick.C:
		}
	}
}

const raceProfile = `services:
  vllm-%[1]s:
    image: vllm/vllm-openai:v0.11.0
    command: ["--model=Qwen/Qwen3-0.6B", "--served-model-name=served-%[1]s", "--api-key=${KEY_%[2]s}", "--max-model-len=4096"]
    ports: ["%[3]d:8000"]
    x-vllmctl:
      aliases: [m]
`

// TestServeRefreshRace: serve's refresh runs continuously (each one flips
// which of two engines serving alias "m" is running, so readiness, address,
// key and served name of the routes change every time) while 1,000 requests
// for "m" go through the gateway over loopback. Every request is answered by
// an engine with its own key and served name, and under -race the detector
// stays quiet: a refresh publishes a new table and never changes one.
func TestServeRefreshRace(t *testing.T) {
	portA := simEngine(t, "--model", "Qwen/Qwen3-0.6B", "--served-model-name", "served-a", "--api-key", "race-key-a-000001")
	portB := simEngine(t, "--model", "Qwen/Qwen3-0.6B", "--served-model-name", "served-b", "--api-key", "race-key-b-000002")
	root := t.TempDir()
	files := map[string]string{
		"configs/docker/profiles/a.yml": fmt.Sprintf(raceProfile, "a", "A", portA),
		"configs/docker/profiles/b.yml": fmt.Sprintf(raceProfile, "b", "B", portB),
		".env":                          "KEY_A=race-key-a-000001\nKEY_B=race-key-b-000002\n",
		"vllmctl.yaml":                  "project_name: race\ngpus: [{name: RTX 4090, count: 1}]\n",
	}
	for rel, content := range files {
		path := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	be := &flipBackend{ports: map[string]int{"a": portA, "b": portB}}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := New(Options{Root: root, Environ: map[string]string{}, Runtimes: deploy.NewRuntimes(be, true, filepath.Join(root, ".vllmctl"))})
	s.Refresh(ctx)
	if ups := s.Routes().Table()["m"]; len(ups) != 2 {
		t.Fatalf("routes for m after the first refresh: %+v", ups)
	}
	srv := httptest.NewServer(gateway.New(s.Routes(), gateway.Options{}).Handler())
	defer srv.Close()
	var refreshes atomic.Int64
	stop := make(chan struct{})
	refreshed := make(chan struct{})
	next := make(chan struct{}, 1) // a refresh finished
	go func() {
		defer close(refreshed)
		for {
			select {
			case <-stop:
				return
			default:
			}
			s.Refresh(ctx)
			refreshes.Add(1)
			select {
			case next <- struct{}{}:
			default:
			}
		}
	}()
	// A second refresher, as the watchdog's restart and on-demand starts call refresh too.
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				s.Refresh(ctx)
			}
		}
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200, MaxConnsPerHost: 200}, Timeout: time.Minute}
	defer client.CloseIdleConnections()
	const n, waves = 1000, 10
	var ok atomic.Int64
	var byEngine sync.Map
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	ask := func() {
		defer wg.Done()
		fail := func(why string) { mu.Lock(); bad = append(bad, why); mu.Unlock() }
		resp, err := client.Post(srv.URL+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":3}`))
		if err != nil {
			fail(err.Error())
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var out struct {
			Model string `json:"model"`
			Usage struct {
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
		}
		prof := resp.Header.Get("X-Vllmctl-Profile")
		if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil || out.Usage.CompletionTokens != 3 || out.Model != "served-"+prof {
			fail(fmt.Sprintf("%d from %q: %s", resp.StatusCode, prof, body))
			return
		}
		c, _ := byEngine.LoadOrStore(prof, new(atomic.Int64))
		c.(*atomic.Int64).Add(1)
		ok.Add(1)
	}
	// Waves of requests, each sent right after a refresh: every refresh
	// overlaps requests in flight, and both engines take turns.
	for w := 0; w < waves; w++ {
		select {
		case <-next:
		case <-time.After(30 * time.Second):
			t.Fatalf("no refresh finished in 30s (wave %d)", w)
		}
		for i := 0; i < n/waves; i++ {
			wg.Add(1)
			go ask()
		}
	}
	wg.Wait()
	close(stop)
	<-refreshed
	for i, b := range bad {
		if i == 5 {
			t.Errorf("... %d failures in all", len(bad))
			break
		}
		t.Errorf("request failed: %s", b)
	}
	if ok.Load() != n {
		t.Fatalf("%d of %d requests answered", ok.Load(), n)
	}
	if refreshes.Load() < waves {
		t.Fatalf("only %d refreshes ran during the requests", refreshes.Load())
	}
	for _, p := range []string{"a", "b"} {
		if c, found := byEngine.Load(p); !found || c.(*atomic.Int64).Load() == 0 {
			t.Fatalf("no request reached engine %s: the routes did not flip", p)
		}
	}
	t.Logf("%d requests answered during %d refreshes (a %v, b %v)", n, refreshes.Load(), countOf(&byEngine, "a"), countOf(&byEngine, "b"))
}

func countOf(m *sync.Map, k string) int64 {
	if c, ok := m.Load(k); ok {
		return c.(*atomic.Int64).Load()
	}
	return 0
}

// TestRefreshRecovers: each refresh runs Options.Recover with the project it
// loaded, before the engines are listed, and logs what it finished.
func TestRefreshRecovers(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "configs/docker/profiles"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "configs/docker/profiles/a.yml"), []byte(fmt.Sprintf(raceProfile, "a", "A", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	var calls []string
	be := &flipBackend{ports: map[string]int{}}
	s := New(Options{Root: root, Environ: map[string]string{}, Runtimes: deploy.NewRuntimes(be, true, filepath.Join(root, ".vllmctl")),
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Recover: func(_ context.Context, p *project.Project) ([]string, error) {
			calls = append(calls, p.Root)
			return []string{"promotion P was interrupted: recovered, live runs"}, nil
		}})
	s.Refresh(t.Context())
	s.Refresh(t.Context())
	if len(calls) != 2 || calls[0] != root {
		t.Fatalf("Recover calls: %q, want the project at %s twice", calls, root)
	}
	if !strings.Contains(logs.String(), "promotion P was interrupted: recovered, live runs") {
		t.Fatalf("what Recover finished is not logged:\n%s", logs.String())
	}
}
