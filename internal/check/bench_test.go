package check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vllmctl/vllmctl/internal/project"
)

// BenchmarkCheckExample measures what `vllmctl check` does on the example
// project: load (compose-go merge and interpolation, positions) and check.
func BenchmarkCheckExample(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		p, err := project.Load(ctx, project.Options{Root: "../../examples/project", Environ: map[string]string{}})
		if err != nil {
			b.Fatal(err)
		}
		if ds := Run(p, Options{}); project.CountErrors(ds) != 0 {
			b.Fatalf("example has errors: %v", ds)
		}
	}
}

// twentyProfiles writes a 20-profile folder of the shapes real folders have:
// list and folded commands, sh -c wrappers with variables, a custom image built
// from a Dockerfile, alternatives sharing a container_name, a base file and a .env.
func twentyProfiles(tb testing.TB) string {
	dir := tb.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	write(".env", "HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz0123\nVLLM_API_KEY=k-0123456789\nTP=1\n")
	write("configs/docker/docker-compose.yml", "services:\n  base:\n    profiles: [template]\n    image: vllm/vllm-openai:v0.11.0\n    ipc: host\n    volumes: [\"hf:/root/.cache/huggingface\"]\nvolumes:\n  hf:\n")
	write("build/Dockerfile", "ARG BASE=vllm/vllm-openai:v0.10.1.1\nFROM ${BASE}\nRUN pip install x\n")
	for i := range 20 {
		gpu := i % 4
		var body string
		switch i % 4 {
		case 0: // list command
			body = fmt.Sprintf(`    image: vllm/vllm-openai:v0.11.0
    container_name: vllm-slot%d
    command: ["--model", "Qwen/Qwen3-8B-AWQ", "--api-key", "${VLLM_API_KEY}", "--gpu-memory-utilization", "0.85", "--max-model-len", "32768"]
`, gpu)
		case 1: // folded command
			body = fmt.Sprintf(`    image: vllm/vllm-openai:v0.27.1
    container_name: vllm-slot%d
    command: >
      --model Qwen/Qwen3-14B-AWQ
      --tensor-parallel-size ${TP}
      --gpu-memory-utilization 0.80
      --kv-cache-dtype fp8
      --max-num-seqs 16
`, gpu)
		case 2: // sh -c wrapper
			body = fmt.Sprintf(`    image: vllm/vllm-openai:v0.11.0
    container_name: vllm-slot%d
    environment:
      MODEL_ID: Qwen/Qwen3-4B
    entrypoint: ["/bin/sh", "-c"]
    command:
      - |
        set -e
        pip install --quiet plugin || true
        exec vllm serve "$${MODEL_ID}" \
          --gpu-memory-utilization $${UTIL:-0.70} \
          --max-model-len 16384 --api-key "$${VLLM_API_KEY}"
`, gpu)
		case 3: // custom image from the build
			body = fmt.Sprintf(`    image: team-vllm-patched:v7
    build:
      context: ../../../build
    container_name: vllm-slot%d
    command: ["--model", "mistralai/Mistral-Small-3.2-24B-Instruct-2506", "--gpu-memory-utilization", "0.90"]
`, gpu)
		}
		write(fmt.Sprintf("configs/docker/profiles/p%02d.yml", i), fmt.Sprintf(`services:
  vllm-p%02d:
    extends: {file: docker-compose.yml, service: base}
    profiles: !reset []
%s    ipc: host
    ports: ["%d:8000"]
    volumes: ["hf:/root/.cache/huggingface"]
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              device_ids: ["%d"]
              capabilities: [gpu]
volumes:
  hf:
`, i, body, 5000+gpu, gpu))
	}
	return dir
}

// BenchmarkCheck20Profiles is `vllmctl check` (load and check, no plan) of a
// 20-profile folder. Target: under 300 ms.
func BenchmarkCheck20Profiles(b *testing.B) {
	ctx := context.Background()
	dir := twentyProfiles(b)
	for b.Loop() {
		p, err := project.Load(ctx, project.Options{Root: dir, Environ: map[string]string{}})
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Profiles) != 20 {
			b.Fatalf("%d profiles, want 20", len(p.Profiles))
		}
		_ = Run(p, Options{Host: localLinux})
	}
}

// TestTwentyProfilesRecognised keeps the benchmark honest: every profile of
// the folder loads and has its engine.
func TestTwentyProfilesRecognised(t *testing.T) {
	p, err := project.Load(t.Context(), project.Options{Root: twentyProfiles(t), Environ: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Profiles) != 20 {
		t.Fatalf("%d profiles, want 20", len(p.Profiles))
	}
	for _, pr := range p.Profiles {
		if len(pr.Engines()) != 1 {
			t.Errorf("%s: %d engines, want 1 (diags %v)", pr.Name, len(pr.Engines()), pr.Diags)
		}
	}
	for _, d := range Run(p, Options{Host: localLinux}) {
		if d.Severity == project.Error {
			t.Errorf("unexpected error: %s", d)
		}
	}
}
