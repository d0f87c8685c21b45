package serve

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/runtime"
)

// idleBackend is a runtime on which nothing runs.
type idleBackend struct{ runtime.Backend }

func (idleBackend) List(context.Context, string, string) ([]runtime.Instance, error) { return nil, nil }

// TestRefreshRemotes: a profile that runs nowhere on this machine but is
// reached through Options.Remotes (a port-forward to a pod) is routed to the
// remote's address, ready when its /health answers there, with where it runs
// in the route table and the snapshot, and its route logged once; a remote
// that cannot be reached is routed, not ready, with the reason.
func TestRefreshRemotes(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "configs/docker/profiles"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		if err := os.WriteFile(filepath.Join(root, "configs/docker/profiles", n+".yml"), []byte(fmt.Sprintf(raceProfile, n, strings.ToUpper(n), 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	port := simEngine(t, "--model", "Qwen/Qwen3-0.6B", "--served-model-name", "served-a")
	var logs strings.Builder
	s := New(Options{Root: root, Environ: map[string]string{}, Runtimes: deploy.NewRuntimes(idleBackend{}, true, filepath.Join(root, ".vllmctl")),
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Remotes: func(_ context.Context, p *project.Project) map[string]Remote {
			return map[string]Remote{
				"a": {BaseURL: fmt.Sprintf("http://127.0.0.1:%d", port), Where: "kubernetes prod default/a:8000"},
				"b": {BaseURL: "http://127.0.0.1:1", Where: "kubernetes prod default/b:8000", Reason: "the cluster did not answer: timeout"},
			}
		}})
	s.Refresh(t.Context())
	s.Refresh(t.Context())
	table := s.Routes().Table()
	a, b, c := table["served-a"], table["served-b"], table["served-c"]
	if len(a) != 1 || !a[0].Ready || a[0].BaseURL != fmt.Sprintf("http://127.0.0.1:%d", port) || a[0].Where != "kubernetes prod default/a:8000" || a[0].OnDemand {
		t.Errorf("route of a = %+v, want ready through the remote's address, where it runs", a)
	}
	if len(b) != 1 || b[0].Ready || b[0].Reason != "the cluster did not answer: timeout" || b[0].Where == "" {
		t.Errorf("route of b = %+v, want not ready with the remote's reason", b)
	}
	if len(c) != 1 || c[0].Ready || c[0].Reason != "not deployed" || c[0].Where != "" {
		t.Errorf("route of c = %+v, want local and not deployed", c)
	}
	snap := s.Snapshot()
	wheres := map[string]string{}
	for _, ps := range snap.Profiles {
		wheres[ps.Profile] = ps.Where
	}
	if wheres["a"] != "kubernetes prod default/a:8000" || wheres["c"] != "" {
		t.Errorf("snapshot wheres = %v, want a on kubernetes, c local", wheres)
	}
	if n := strings.Count(logs.String(), `msg=route profile=a where="kubernetes prod default/a:8000"`); n != 1 {
		t.Errorf("the route of a is logged %d times over two refreshes, want once:\n%s", n, logs.String())
	}
}
