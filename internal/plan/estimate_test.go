package plan

import (
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

func model(t *testing.T, id string) Model {
	t.Helper()
	m, ok := LookupModel(id)
	if !ok {
		t.Fatalf("%s not in catalog", id)
	}
	return m
}

func within(got, want int, frac float64) bool {
	d := float64(got - want)
	if d < 0 {
		d = -d
	}
	return d <= frac*float64(want)
}

// The worked examples of FACTS §5.6: the same available KV memory must give
// vLLM's token counts within 1%.
func TestKVTokensWorkedExamples(t *testing.T) {
	tests := []struct {
		model string
		argv  []string
		avail float64
		want  int
	}{
		{"meta-llama/Llama-3.1-8B-Instruct", nil, 3.81, 31232},
		{"meta-llama/Llama-3.1-8B-Instruct", nil, 2.89, 23648},
		{"Qwen/Qwen3-14B", nil, 6.51, 42656},
		{"Qwen/Qwen3-235B-A22B-FP8", []string{"--tensor-parallel-size=4"}, 8.11, 178880},
	}
	for _, tt := range tests {
		_, got := KVTokens(model(t, tt.model), vllm.Parse(tt.argv), tt.avail)
		if !within(got, tt.want, 0.01) {
			t.Errorf("%s with %.2f GiB: got %d tokens, vLLM printed %d", tt.model, tt.avail, got, tt.want)
		}
	}
}

func TestLookupModel(t *testing.T) {
	m, ok := LookupModel("Qwen/Qwen3-32B-AWQ")
	if !ok || m.ID != "Qwen/Qwen3-32B" || m.CheckpointQ != "awq" {
		t.Fatalf("got %+v %v", m, ok)
	}
	if m, ok := LookupModel("unsloth/Qwen2.5-7B-Instruct-unsloth-bnb-4bit"); !ok || m.CheckpointQ != "bitsandbytes" || m.MaxPositions != 32768 {
		t.Fatalf("got %+v %v", m, ok)
	}
	if _, ok := LookupModel("acme/secret-model"); ok {
		t.Fatal("an unknown model was matched")
	}
}

func h(n int, name string) []gpu.GPU {
	g, _ := gpu.Declare(name, "", n)
	return g
}

func TestEstimateVerdicts(t *testing.T) {
	tests := []struct {
		name  string
		model string
		argv  []string
		gpus  []gpu.GPU
		want  Verdict
		fix   string
	}{
		{"medium of the example fits on two 4090s", "Qwen/Qwen3-32B-AWQ",
			[]string{"--tensor-parallel-size=2", "--gpu-memory-utilization=0.92", "--max-model-len=131072", "--quantization=awq_marlin", "--kv-cache-dtype=fp8",
				`--rope-scaling={"rope_type":"yarn","factor":4.0,"original_max_position_embeddings":32768}`}, h(2, "RTX 4090"), Fits, ""},
		{"128k without fp8 KV is too much", "Qwen/Qwen3-32B-AWQ",
			[]string{"--tensor-parallel-size=2", "--gpu-memory-utilization=0.92", "--max-model-len=131072",
				`--rope-scaling={"rope_type":"yarn","factor":4.0,"original_max_position_embeddings":32768}`}, h(2, "RTX 4090"), KVTooSmall, "lower --max-model-len to"},
		{"32B bf16 does not fit one 4090", "Qwen/Qwen3-32B", []string{"--max-model-len=8192"}, h(1, "RTX 4090"), WeightsTooLarge, "--tensor-parallel-size 4"},
		// The smallest TP whose plan fits is proposed: at TP 2 the weights
		// take 65.7 GiB of an H100's 71.3 GiB budget and one 8,192-token
		// request still fits (an unseen public file was told TP 4).
		{"70B bf16 on one H100: TP 2 is enough", "meta-llama/Llama-3.3-70B-Instruct", []string{"--max-model-len=8192"}, h(1, "H100"), WeightsTooLarge, "run on 2 GPUs with --tensor-parallel-size 2"},
		// The weights load into the H100 whatever the utilization says; the
		// profile then finds no room for the cache (the kubesimplify TP 1 log).
		{"32B bf16 above an H100's 0.426 budget loads, then no KV", "Qwen/Qwen3-32B", []string{"--max-model-len=32768", "--gpu-memory-utilization=0.426"}, h(1, "H100"), NoKVMemory, "raise --gpu-memory-utilization"},
		{"above the model's positions", "Qwen/Qwen3-8B", []string{"--max-model-len=131072"}, h(1, "H100"), TooLong, "rope-scaling"},
		{"gpt-oss-20b fits an H100 (sliding + full groups)", "openai/gpt-oss-20b", nil, h(1, "H100"), Fits, ""},
		{"Qwen3-30B-A3B at 0.92 on a 4090: MoE buffers beyond the budget", "Qwen/Qwen3-30B-A3B-AWQ", []string{"--gpu-memory-utilization=0.92", "--max-model-len=8192"}, h(1, "RTX 4090"), BootOOMRisk, "lower --gpu-memory-utilization"},
		{"bnb row of vllm#13882 has no KV memory", "unsloth/Qwen2.5-7B-Instruct-bnb-4bit", []string{"--gpu-memory-utilization=0.7", "--max-model-len=4096"}, h(1, "RTX 4060"), NoKVMemory, "raise --gpu-memory-utilization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Estimate(Input{Model: model(t, tt.model), Args: vllm.Parse(tt.argv), GPUs: tt.gpus, Version: "0.11.0"})
			if r.Verdict != tt.want {
				t.Fatalf("verdict %s, want %s (%v; ranks %+v)", r.Verdict, tt.want, r.Reasons, r.Ranks)
			}
			if tt.fix != "" && !strings.Contains(strings.Join(r.Fixes, "; "), tt.fix) {
				t.Errorf("fixes %q lack %q", r.Fixes, tt.fix)
			}
		})
	}
}

func TestFreeMemoryLive(t *testing.T) {
	g := h(1, "H100")
	g[0].FreeMiB = 30 * 1024
	g[0].Processes = []gpu.Proc{{PID: 9, Name: "Xorg", UsedMiB: 50000}}
	r := Estimate(Input{Model: model(t, "Qwen/Qwen3-8B"), Args: vllm.Parse([]string{"--max-model-len=8192"}), GPUs: g, Live: true})
	if r.Verdict != FreeMemory || !strings.Contains(strings.Join(r.Reasons, "\n"), "Xorg (pid 9)") {
		t.Fatalf("got %s %v", r.Verdict, r.Reasons)
	}
}
