package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/freeport"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/runtime"
)

// BenchmarkStatusFourProfiles: `status` of four running profiles (process
// runtime, vllm-sim): list, drift, /health and /metrics, probed concurrently.
func BenchmarkStatusFourProfiles(b *testing.B) {
	if setup != nil {
		b.Fatal(setup)
	}
	dir := b.TempDir()
	write := func(rel, content string) {
		if err := writeFile(dir, rel, content); err != nil {
			b.Fatal(err)
		}
	}
	write(".env", "KEY_A=e2e-secret-key-4242\n")
	write("vllmctl.yaml", "project_name: benchstatus\ngpus: [{name: RTX 4090, count: 4}]\n")
	var names []string
	for i := 0; i < 4; i++ {
		name := fmt.Sprintf("p%d", i)
		names = append(names, name)
		port := freeport.T(b)
		write("configs/docker/profiles/"+name+".yml", strings.Replace(fmt.Sprintf(profileTmpl, "", goodArgs, port, ""), `device_ids: ["0"]`, fmt.Sprintf(`device_ids: ["%d"]`, i), 1))
	}
	// The engines are built without the race detector here: its overhead would be measured too.
	plain := filepath.Join(binDir, "vllm-sim-plain")
	build := exec.Command("go", "build", "-o", plain, "../cmd/vllm-sim")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build vllm-sim: %v\n%s", err, out)
	}
	out, code := runIn(dir, append([]string{"up"}, append(names, "--runtime", "process", "--simulate", "--sim-binary", plain, "--progress", "plain")...)...)
	if code != 0 {
		b.Fatalf("up: %s", out)
	}
	defer runIn(dir, "down", "--runtime", "process")
	pj, err := project.Load(context.Background(), project.Options{Root: dir, Environ: map[string]string{}})
	if err != nil {
		b.Fatal(err)
	}
	dep := deploy.New(pj, nil)
	dep.Backend = &runtime.Process{StateDir: dep.Store.Dir}
	for b.Loop() {
		sts, err := dep.Status(context.Background(), nil, nil, 0)
		if err != nil || len(sts) != 4 {
			b.Fatalf("%v %d", err, len(sts))
		}
		for _, s := range sts {
			if s.Health != "ready" || s.Drift {
				b.Fatalf("%+v", s)
			}
		}
	}
}
