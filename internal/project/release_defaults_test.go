package project

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vllmctl/vllmctl/internal/vllm"
)

// The default --gpu-memory-utilization follows the engine's release: 0.9 up to
// 0.19, 0.92 from 0.20 (vLLM PR #38284), 0.9 when the release cannot be told
// (planned as an older one); a written value is never replaced.
func TestUtilizationDefaultFollowsRelease(t *testing.T) {
	cases := []struct {
		image, extra, ext string
		want              float64
		src               vllm.Source
	}{
		{"vllm/vllm-openai:v0.19.1", "", "", 0.9, vllm.FromDefault},
		{"vllm/vllm-openai:v0.20.0", "", "", 0.92, vllm.FromDefault},
		{"vllm/vllm-openai:v0.27.1", "", "", 0.92, vllm.FromDefault},
		{"vllm/vllm-openai:latest", "", "", 0.92, vllm.FromDefault}, // not on this machine: the newest release's default
		{"myorg/vllm:latest", "", "", 0.9, vllm.FromDefault},        // another repository: unknown, before 0.20's default
		{"vllm/vllm-openai:latest", "", "    x-vllmctl: {vllm_version: 0.24.0}\n", 0.92, vllm.FromDefault},
		{"vllm/vllm-openai:v0.24.0", `, "--gpu-memory-utilization", "0.85"`, "", 0.85, vllm.FromWritten},
		{"vllm/vllm-openai:v0.24.0", `, "--gpu-memory-utilization", "0.9"`, "", 0.9, vllm.FromWritten},
	}
	for _, c := range cases {
		root := t.TempDir()
		compose := "services:\n  vllm:\n    image: " + c.image + "\n    command: [\"--model\", \"Qwen/Qwen3-8B\"" + c.extra + "]\n" + c.ext
		if err := os.WriteFile(filepath.Join(root, "compose.yaml"), []byte(compose), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, ConfigFile), []byte("profiles:\n  - compose.yaml\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := Load(context.Background(), Options{Root: root})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Profiles) != 1 || len(p.Profiles[0].Engines()) != 1 {
			t.Fatalf("%s: want one profile with one engine, got %d profiles", c.image, len(p.Profiles))
		}
		e := p.Profiles[0].Engines()[0]
		if e.Args.GPUMemoryUtilization != c.want || e.Args.SourceOf("gpu-memory-utilization") != c.src {
			t.Errorf("%s%s%s: utilization %g (%v), want %g (%v)", c.image, c.extra, c.ext, e.Args.GPUMemoryUtilization, e.Args.SourceOf("gpu-memory-utilization"), c.want, c.src)
		}
	}
}
