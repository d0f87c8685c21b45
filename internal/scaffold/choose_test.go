package scaffold

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vllmctl/vllmctl/internal/project"
)

// example is examples/project: medium on GPUs 0,1 at 0.92 (port 5002), micro
// (0.30, port 5000) and mini (0.60, port 5001) sharing GPU 2.
func example(t *testing.T) *project.Project {
	t.Helper()
	p, err := project.Load(t.Context(), project.Options{Root: "../../examples/project", Environ: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFreePort(t *testing.T) {
	if got := FreePort(example(t)); got != 5003 {
		t.Errorf("FreePort = %d, want 5003 (5000-5002 are published)", got)
	}
}

func TestGPUShare(t *testing.T) {
	p := example(t)
	for _, tc := range []struct {
		name   string
		gpus   []string
		except string
		want   float64
		users  []string
	}{
		{"shared GPU", []string{"2"}, "", 0.90, []string{"micro (0.30)", "mini (0.60)"}},
		{"the profile itself left out", []string{"2"}, "mini", 0.30, []string{"micro (0.30)"}},
		{"the worst of several", []string{"0", "2"}, "", 0.92, []string{"medium (0.92)"}},
		{"a free GPU", []string{"3"}, "", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, users := GPUShare(p, tc.gpus, tc.except)
			if got < tc.want-1e-9 || got > tc.want+1e-9 {
				t.Errorf("share = %.2f, want %.2f", got, tc.want)
			}
			if diff := cmp.Diff(tc.users, users); diff != "" {
				t.Errorf("users (-want +got):\n%s", diff)
			}
		})
	}
}
