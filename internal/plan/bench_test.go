package plan

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/project"
)

const fourth = `services:
  vllm-large:
    image: vllm/vllm-openai:v0.11.0
    ipc: host
    command: ["--model=deepseek-ai/DeepSeek-R1-Distill-Qwen-14B", "--gpu-memory-utilization=0.9", "--max-model-len=32768"]
    ports: ["5003:8000"]
    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ["3"], capabilities: [gpu]}]}}}
`

// BenchmarkPlanFourProfiles measures `vllmctl plan` without GPUs: load the
// example project plus a fourth profile, and plan all four on a declared inventory.
func BenchmarkPlanFourProfiles(b *testing.B) {
	dir := b.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples/project")); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "configs/docker/profiles/large.yml"), []byte(fourth), 0o644); err != nil {
		b.Fatal(err)
	}
	gpus, _ := gpu.Declare("RTX 4090", "", 4)
	ctx := context.Background()
	for b.Loop() {
		p, err := project.Load(ctx, project.Options{Root: dir, Environ: map[string]string{}})
		if err != nil {
			b.Fatal(err)
		}
		pp := PlanProject(p, ProjectInput{GPUs: gpus, GPUSource: "bench"})
		if len(pp.Engines) < 4 {
			b.Fatalf("planned %d engines", len(pp.Engines))
		}
	}
}

// BenchmarkEstimate is the arithmetic alone, for one engine.
func BenchmarkEstimate(b *testing.B) {
	m, _ := LookupModel("Qwen/Qwen3-32B-AWQ")
	gpus, _ := gpu.Declare("RTX 4090", "", 2)
	in := Input{Model: m, GPUs: gpus, Version: "0.11.0"}
	in.Args.TensorParallelSize, in.Args.PipelineParallelSize, in.Args.GPUMemoryUtilization, in.Args.MaxModelLen = 2, 1, 0.9, 32768
	for b.Loop() {
		_ = Estimate(in)
	}
}
