package serve

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/runtime"
	"github.com/vllmctl/vllmctl/internal/watchdog"
)

// noEngines is a runtime where nothing runs.
type noEngines struct{ runtime.Backend }

func (noEngines) List(context.Context, string, string) ([]runtime.Instance, error) { return nil, nil }

// newIdle is a Server over one profile "a" (served-a, alias m) that is not deployed.
func newIdle(t *testing.T) *Server {
	t.Helper()
	root := t.TempDir()
	path := filepath.Join(root, "configs/docker/profiles/a.yml")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fmt.Appendf(nil, raceProfile, "a", "A", 18001), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ".env"), []byte("KEY_A=snapshot-key-000001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := New(Options{Root: root, Environ: map[string]string{}, Runtimes: deploy.NewRuntimes(noEngines{}, true, filepath.Join(root, ".vllmctl"))})
	s.Refresh(t.Context())
	return s
}

// TestSnapshot: the snapshot lists each engine profile with the names routed
// to it, its readiness and the watchdog's transitions (the last 100), and
// never the engine's API key.
func TestSnapshot(t *testing.T) {
	s := newIdle(t)
	for i := range maxTransitions + 5 {
		s.transition(watchdog.Transition{Profile: "a", From: watchdog.Healthy, To: watchdog.Hung, Action: watchdog.Restart, Reason: fmt.Sprint(i)})
	}
	snap := s.Snapshot()
	want := []ProfileState{{Profile: "a", Models: []string{"m", "served-a"}, BaseURL: "http://127.0.0.1:18001", Reason: "not deployed"}}
	if diff := cmp.Diff(want, snap.Profiles, cmpopts.IgnoreFields(ProfileState{}, "Since")); diff != "" {
		t.Errorf("profiles (-want +got):\n%s", diff)
	}
	if len(snap.Transitions) != maxTransitions || snap.Transitions[0].Reason != "5" || snap.Transitions[maxTransitions-1].Reason != fmt.Sprint(maxTransitions+4) {
		t.Errorf("transitions: %d kept, first %q: want the last %d, oldest first", len(snap.Transitions), snap.Transitions[0].Reason, maxTransitions)
	}
	snap.Profiles[0].Models[0] = "changed"
	if got := s.Snapshot().Profiles[0].Models[0]; got != "m" {
		t.Errorf("changing a snapshot changed the server: %q", got)
	}
}

// TestServeMountsHandlers: a handler added with Handle answers on the serve
// address next to the gateway, and Serve returns once its context ends.
func TestServeMountsHandlers(t *testing.T) {
	s := newIdle(t)
	s.Handle("GET /dashboard/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "dashboard") }))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	serving := make(chan []string, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.Serve(ctx, ln, ServeOptions{NoWatchdog: true, Refresh: time.Hour, Serving: func(_ net.Addr, models []string) { serving <- models }})
	}()
	select {
	case models := <-serving:
		if diff := cmp.Diff([]string{"m", "served-a"}, models); diff != "" {
			t.Errorf("models announced (-want +got):\n%s", diff)
		}
	case err := <-done:
		t.Fatalf("Serve returned before serving: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not announce itself in 10s")
	}
	for path, want := range map[string]int{"/dashboard/": 200, "/v1/models": 200, "/metrics": 404} {
		resp, err := http.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d %s, want %d", path, resp.StatusCode, body, want)
		}
		if path == "/dashboard/" && string(body) != "dashboard" {
			t.Errorf("GET /dashboard/: %q", body)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return in 10s after its context ended")
	}
}

// TestKeys: gateway keys come from VLLMCTL_GATEWAY_KEY_* of the root .env,
// and a malformed one is located at its line.
func TestKeys(t *testing.T) {
	s := newIdle(t)
	p := s.Project()
	keys, err := Keys(p)
	if err != nil || len(keys) != 0 {
		t.Fatalf("Keys without any: %v, %v", keys, err)
	}
	p.Env.Values["VLLMCTL_GATEWAY_KEY_BAD"] = "sha256:nothex"
	p.Env.Lines["VLLMCTL_GATEWAY_KEY_BAD"] = 7
	if _, err := Keys(p); err == nil || !strings.Contains(err.Error(), ".env:7: ") {
		t.Errorf("malformed key: %v, want an error at .env:7", err)
	}
}

// TestWatchdogConfigs: x-vllmctl.watchdog reaches the watchdog as typed
// values; a profile without one gets the zero Config (the watchdog's defaults).
func TestWatchdogConfigs(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"configs/docker/profiles/a.yml": fmt.Sprintf(raceProfile, "a", "A", 18001) + "      watchdog: {interval: 30s, stall_after: 20m, hung_after: 2, restart: false}\n",
		"configs/docker/profiles/b.yml": fmt.Sprintf(raceProfile, "b", "B", 18002),
		".env":                          "KEY_A=x\nKEY_B=y\n",
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
	p, err := project.Load(t.Context(), project.Options{Root: root, Environ: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]watchdog.Config{
		"a": {Interval: 30 * time.Second, StallAfter: 20 * time.Minute, HungAfter: 2, NoRestart: true},
		"b": {},
	}
	if diff := cmp.Diff(want, watchdogConfigs(p)); diff != "" {
		t.Errorf("watchdogConfigs (-want +got):\n%s", diff)
	}
}
