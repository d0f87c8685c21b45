package project

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vllmctl/vllmctl/internal/vllm"
)

// TestGPUSelectionForms: every way a compose file gives a service GPUs —
// the service-level gpus: attribute (short `all` and long form), deploy
// device reservations and the NVIDIA variables — reads as a selection.
func TestGPUSelectionForms(t *testing.T) {
	cases := []struct {
		name, yaml string
		all        bool
		count      int
		ids        []string
		path       string
	}{
		{"gpus all", "    gpus: all\n", true, 0, nil, "services.vllm.gpus.0.count"},
		{"gpus long form", "    gpus:\n      - count: 2\n", false, 2, nil, "services.vllm.gpus.0.count"},
		{"gpus device_ids", "    gpus:\n      - device_ids: [\"1\", \"3\"]\n", false, 0, []string{"1", "3"}, "services.vllm.gpus.0.device_ids"},
		{"deploy devices", "    deploy:\n      resources:\n        reservations:\n          devices: [{driver: nvidia, count: 1, capabilities: [gpu]}]\n", false, 1, nil, "services.vllm.deploy.resources.reservations.devices.0.count"},
		{"NVIDIA_VISIBLE_DEVICES", "    runtime: nvidia\n    environment: [\"NVIDIA_VISIBLE_DEVICES=0,1\"]\n", false, 0, []string{"0", "1"}, "services.vllm.environment.NVIDIA_VISIBLE_DEVICES"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := loadEngines(t, "services:\n  vllm:\n    image: vllm/vllm-openai:v0.17.1\n    command: [\"--model\", \"Qwen/Qwen3-14B-FP8\"]\n"+c.yaml)["vllm"]
			if e == nil {
				t.Fatal("no engine vllm")
			}
			g := &e.GPUs
			if g.All != c.all || g.Count != c.count || !slices.Equal(g.IDs, c.ids) || g.Path != c.path {
				t.Errorf("got all=%v count=%d ids=%v path=%q, want all=%v count=%d ids=%v path=%q", g.All, g.Count, g.IDs, g.Path, c.all, c.count, c.ids, c.path)
			}
		})
	}
}

// TestCustomImageRunAsIs: another vLLM image with no command runs its own
// entrypoint and command (often a launch script reading MODEL): the engine's
// flags are unknown, not vLLM's defaults; with flags written as the command
// they are read (derived images keep `vllm serve` as the entrypoint), and
// vLLM's own image with no command does serve vLLM's default model.
func TestCustomImageRunAsIs(t *testing.T) {
	got := loadEngines(t, `services:
  custom:
    image: avarok/dgx-vllm-nvfp4-kernel:v23
    environment: [MODEL=nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-NVFP4]
  flags:
    image: avarok/dgx-vllm-nvfp4-kernel:v23
    command: ["--model", "Qwen/Qwen3-8B"]
  official:
    image: vllm/vllm-openai:v0.17.1
`)
	if len(got) != 3 {
		t.Fatalf("engines %v, want custom, flags, official", slices.Sorted(maps.Keys(got)))
	}
	want := "the image's own entrypoint and command (avarok/dgx-vllm-nvfp4-kernel:v23; it may serve MODEL=nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-NVFP4)"
	if c := got["custom"]; c.Args.Opaque != want || c.Args.SourceOf("model") != vllm.FromUnknown {
		t.Errorf("custom: opaque %q, model source %v; want %q and unknown", c.Args.Opaque, c.Args.SourceOf("model"), want)
	}
	if c := got["flags"]; c.Args.Opaque != "" || c.Args.Model != "Qwen/Qwen3-8B" {
		t.Errorf("flags: opaque %q model %q, want the written model", c.Args.Opaque, c.Args.Model)
	}
	if c := got["official"]; c.Args.Opaque != "" || c.Args.SourceOf("model") != vllm.FromDefault {
		t.Errorf("official: opaque %q, model source %v; want vLLM's default", c.Args.Opaque, c.Args.SourceOf("model"))
	}
}

// loadEngines loads one compose file (its text) as a project and returns its
// engines by service name.
func loadEngines(t *testing.T, compose string) map[string]*Service {
	t.Helper()
	dir := t.TempDir()
	f := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(f, []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(context.Background(), Options{Root: dir, Files: []string{f}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*Service{}
	for _, s := range p.engines() {
		got[s.Name] = s
	}
	return got
}
