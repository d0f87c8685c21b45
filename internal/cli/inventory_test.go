package cli

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vllmctl/vllmctl/internal/project"
)

// --gpu-memory (or --gpu) alone declares as many GPUs as the largest engine
// uses, for every command that plans (up, bench, promote, serve), not one.
func TestInventoryCountsGPUsTheProfilesUse(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "configs", "docker", "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	profile := `services:
  vllm:
    image: vllm/vllm-openai:v0.11.0
    command: ["--model", "Qwen/Qwen3-8B", "--tensor-parallel-size", "2"]
    ports: ["8001:8000"]
`
	if err := os.WriteFile(filepath.Join(dir, "medium.yml"), []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VLLMCTL_NO_NVIDIA_SMI", "1")
	p, err := project.Load(context.Background(), project.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ctx: context.Background()}
	for _, f := range []gpuFlags{{memory: "24GiB"}, {card: "RTX 4090"}} {
		g, src, err := e.inventory(p, f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		if len(g) != 2 || src == "" {
			t.Errorf("%+v: %d GPUs from %q, want 2 (the profile's TP 2)", f, len(g), src)
		}
	}
	g, _, err := e.inventory(p, gpuFlags{memory: "24GiB", count: 4})
	if err != nil || len(g) != 4 {
		t.Errorf("--gpus 4 --gpu-memory 24GiB: %d GPUs (%v), want 4", len(g), err)
	}
}
