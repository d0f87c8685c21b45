package plan

import (
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/vllm"
)

// Golden rows of issue 13: real configs (catalog) and what vLLM printed for
// the same available KV memory (bench/planacc/issue13_rows.csv), one per
// layer kind, each on its side of vLLM PR #41069. Within 2 %.
func TestGoldenIssue13Rows(t *testing.T) {
	tests := []struct {
		source, model string
		argv          []string
		version       string
		avail         float64
		want          int
	}{
		// sliding window + full (18 + 18 layers), blocks ÷ 2 groups × 16.
		{"hf-mem#60", "openai/gpt-oss-120b", nil, "0.11.0", 5.38, 78384},
		// dense full attention.
		{"vllm#33263", "Qwen/Qwen3-1.7B", []string{"--max-model-len=1024"}, "0.11.0", 18.78, 175856},
		// Gated DeltaNet + full (30 + 10), fp8 KV, concurrency × max_model_len (after #41069).
		{"club-3090#652", "Qwen/Qwen3.6-35B-A3B", []string{"--max-model-len=131072", "--kv-cache-dtype=fp8", "--max-num-batched-tokens=8192"}, "0.24.0", 6.01, 569878},
		{"club-3090#612", "Qwen/Qwen3.6-35B-A3B", []string{"--max-model-len=131072", "--kv-cache-dtype=fp8", "--max-num-batched-tokens=8192"}, "0.24.0", 5.98, 567978},
		// Gated DeltaNet + full (48 + 16) at TP 2, fp8 KV, after #41069: Qwen3.8-27B's
		// catalog row (talos-argocd-proxmox#1995, 4.99 GiB per GPU).
		{"talos-argocd-proxmox#1995", "Qwen/Qwen3.8-27B-FP8", []string{"--tensor-parallel-size=2", "--max-model-len=131072", "--kv-cache-dtype=fp8_e4m3", "--max-num-batched-tokens=8192"}, "0.26.0", 4.99, 302921},
		// MoE full attention at TP 4 (shared row, vllm#21348).
		{"vllm#21348", "Qwen/Qwen3-235B-A22B-FP8", []string{"--tensor-parallel-size=4"}, "0.10.0", 8.11, 178880},
		// MoE full attention (62 layers) at TP 2, after #41069 (int(1.22 × 196,608)):
		// MiniMax-M2.7's config.json, an AWQ checkpoint of it (spark-vllm-docker#396).
		{"spark-vllm-docker#396", "MiniMax-M2.7-AWQ", []string{"--tensor-parallel-size=2", "--max-model-len=196608"}, "0.29.1", 28.74, 240816},
	}
	for _, tt := range tests {
		_, got := KVTokens(model(t, tt.model), vllm.Parse(tt.argv), tt.avail, tt.version)
		if !within(got, tt.want, 0.02) {
			t.Errorf("%s %s: %d tokens, vLLM printed %d", tt.source, tt.model, got, tt.want)
		}
	}
}

// The catalog rows added for issue 13 resolve, aliases included, with the
// numbers of their sources.
func TestCatalogIssue13Rows(t *testing.T) {
	for _, tt := range []struct {
		id                  string
		layers, kvh, hidden int
		maxPos              int
		kind                string
	}{
		{"meta-llama/Llama-3.3-70B-Instruct", 80, 8, 8192, 131072, "dense"},
		{"meta-llama/Meta-Llama-3-70B-Instruct", 80, 8, 8192, 8192, "dense"},
		{"meta-llama/Llama-2-13b-chat-hf", 40, 40, 5120, 4096, "dense"},
		{"codellama/CodeLlama-34b-Instruct-hf", 48, 8, 8192, 16384, "dense"},
		{"Qwen/Qwen2-72B-Instruct", 80, 8, 8192, 32768, "dense"},
		{"mistralai/Mixtral-8x7B-Instruct-v0.1", 32, 8, 4096, 32768, "moe"},
		{"mistralai/Mixtral-8x22B-Instruct-v0.1", 56, 8, 6144, 65536, "moe"},
		{"meta-llama/Llama-3.2-1B-Instruct", 16, 8, 2048, 131072, "dense"},
		{"meta-llama/Llama-3.2-3B-Instruct", 28, 8, 3072, 131072, "dense"},
		{"meta-llama/Llama-3.1-405B-Instruct", 126, 8, 16384, 131072, "dense"},
		{"Qwen/Qwen3-Coder-480B-A35B-Instruct", 62, 8, 6144, 262144, "moe"},
		{"Qwen/Qwen3-30B-A3B-Thinking-2507", 48, 4, 2048, 262144, "moe"},
		{"google/gemma-2-27b-it", 46, 16, 4608, 8192, "hybrid"},
		{"microsoft/Phi-3.5-mini-instruct", 32, 32, 3072, 131072, "sliding"},
		{"Qwen/Qwen3-4B-Thinking-2507", 36, 8, 2560, 262144, "dense"},
		{"deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", 64, 8, 5120, 131072, "dense"},
		{"deepseek-ai/DeepSeek-R1-Distill-Llama-8B", 32, 8, 4096, 131072, "dense"},
		{"allenai/OLMo-2-1124-7B-Instruct", 32, 32, 4096, 4096, "dense"},
		{"Qwen/Qwen2.5-Coder-32B", 64, 8, 5120, 32768, "dense"},
		{"MiniMaxAI/MiniMax-M2.7", 62, 8, 3072, 204800, "moe"},
	} {
		m := model(t, tt.id)
		if m.Layers != tt.layers || m.KVHeads != tt.kvh || m.Hidden != tt.hidden || m.MaxPositions != tt.maxPos || m.Kind != tt.kind || m.ParamsB <= 0 {
			t.Errorf("%s: %+v", tt.id, m)
		}
	}
	// Mixtral-8x22B-Instruct-v0.1's config.json has the v3 tokenizer's 32768
	// entries; the base row keeps the 32000 of its own source.
	if v := model(t, "mistralai/Mixtral-8x22B-Instruct-v0.1").Vocab; v != 32768 {
		t.Errorf("Mixtral-8x22B-Instruct-v0.1 vocab %d, its config.json says 32768", v)
	}
	// Mixtral 8x7B: 2 × 32 layers × 8 KV heads × 128 × 2 B = 131,072 B per token.
	r, err := KVFigures(model(t, "mistralai/Mixtral-8x7B-v0.1"), vllm.Parse(nil), 1, "0.11.0")
	if err != nil || r.Layout.PageBytes != 65536 || r.Layout.GroupSize != 32 {
		t.Fatalf("Mixtral layout: %+v %v", r.Layout, err)
	}
}

// A multimodal model: a Qwen-VL tower's profile run is sized and named as
// vLLM logs it, another tower's is named as not modelled; --limit-mm-per-prompt
// all 0 makes it text-only.
func TestMultimodalNote(t *testing.T) {
	m := model(t, "Qwen/Qwen3.6-35B-A3B")
	if !m.Multimodal {
		t.Fatal("Qwen3.6-35B-A3B has a vision_config: want multimodal")
	}
	g := h(1, "RTX 5090")
	find := func(r Result, want string) bool {
		for _, n := range r.Notes {
			if strings.Contains(n, want) {
				return true
			}
		}
		return false
	}
	r := Estimate(Input{Model: m, Args: vllm.Parse([]string{"--max-model-len=32768"}), GPUs: g, Version: "0.24.0"})
	if !find(r, "budget of 16384 tokens, and profiled with 1 image items") {
		t.Errorf("notes: %v", r.Notes)
	}
	// Gemma 4's tower: in the weights, its profile run named as not modelled.
	r = Estimate(Input{Model: model(t, "google/gemma-4-31B-it"), Args: vllm.Parse([]string{"--max-model-len=32768"}), GPUs: g, Version: "0.24.0"})
	if !find(r, "encoder's profile run and encoder cache") || !find(r, "not modelled") {
		t.Errorf("Gemma 4 notes: %v", r.Notes)
	}
	r = Estimate(Input{Model: m, Args: vllm.Parse([]string{"--max-model-len=32768", `--limit-mm-per-prompt={"image":0,"video":0}`}), GPUs: g, Version: "0.24.0"})
	if !find(r, "text-only") {
		t.Errorf("notes with limits 0: %v", r.Notes)
	}
}

// Phi-3-mini declares a 2,047-token sliding window on every layer: one
// sliding group; a request of 4,096 tokens holds ceil(min(2046 + 2048, 4096)
// ÷ 16) + 1 = 257 blocks instead of 256.
func TestPhi3SlidingEveryLayer(t *testing.T) {
	r, err := KVFigures(model(t, "microsoft/Phi-3-mini-4k-instruct"), vllm.Parse([]string{"--max-model-len=4096"}), 1, "0.11.0")
	if err != nil || len(r.Layout.Groups) != 1 || r.Layout.Groups[0].Kind != LayerSliding || r.Layout.PerRequest != 257 {
		t.Fatalf("%+v %v", r.Layout, err)
	}
}

// DeepSeek-Coder-V2-Lite (MLA, 27 layers): one latent of 512 + 64 values per
// token and layer, block 64: page 64 × 576 × 2 B = 73,728 B; 1 GiB holds
// floor(1,073,741,824 ÷ 73,728 ÷ 27) = 539 blocks = 34,496 tokens, whatever
// the TP (the latent is not split).
func TestMLACoderV2Lite(t *testing.T) {
	m := model(t, "deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct")
	// The planner takes Overheads.RankSpreadGiB off the worst rank per extra rank: give it back.
	for tp, avail := range map[string]float64{"1": 1, "2": 1 + Overheads.RankSpreadGiB} {
		r, err := KVFigures(m, vllm.Parse([]string{"--max-model-len=32768", "--tensor-parallel-size=" + tp}), avail, "0.11.0")
		if err != nil || r.Layout.PageBytes != 73728 || r.KVBlocks != 539 || r.KVTokens != 34496 {
			t.Fatalf("TP %s: %+v blocks %d tokens %d %v", tp, r.Layout, r.KVBlocks, r.KVTokens, err)
		}
	}
	if m.Experts != 64 || m.ParamsB != 15.7 {
		t.Errorf("experts %d params %g", m.Experts, m.ParamsB)
	}
}

// Gemma 3 (text_config + SigLIP vision_config): 5 sliding layers of window
// 1,024 to 1 full; multimodal.
func TestGemma3Layout(t *testing.T) {
	m := model(t, "google/gemma-3-27b-it")
	if !m.Multimodal || m.Layers != 62 || m.SlidingWindow != 1024 {
		t.Fatalf("%+v", m)
	}
	sliding := 0
	for _, k := range m.layerKinds() {
		if k == LayerSliding {
			sliding++
		}
	}
	if sliding != 52 { // 62 layers, every 6th full: 10 full, 52 sliding
		t.Errorf("sliding layers: %d", sliding)
	}
}
