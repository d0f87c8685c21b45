package plan

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// One table test per layer kind. Every figure is worked by hand from the
// config.json numbers in catalog_models.json / catalog.csv, following vLLM's
// kv_cache_interface.py (page sizes), mamba_utils.py (state shapes),
// models/config.py (attention block growth) and kv_cache_utils.py (groups,
// num_blocks, concurrency, the "GPU KV cache size" line).
func TestLayoutPerLayerKind(t *testing.T) {
	const GiB = 1 << 30
	tests := []struct {
		name      string
		model     string
		argv      []string
		version   string
		avail     float64 // GiB of KV memory on the worst rank
		blocks    int
		tokens    int     // what that release prints as "GPU KV cache size"
		conc      float64 // "Maximum concurrency"
		groups    int
		groupSize int
	}{
		{
			// Full attention: page = 2 × 16 × 8 KV heads × 128 × 2 B = 65,536 B;
			// 3.81 GiB = 4,090,932,510 B ÷ 65,536 ÷ 32 layers = 1,950 blocks;
			// tokens 1,950 × 16 = 31,200; concurrency 1,950 ÷ ceil(20,000/16)=1,250 = 1.56.
			name: "full attention, Llama-3.1-8B", model: "meta-llama/Llama-3.1-8B-Instruct",
			argv: []string{"--max-model-len=20000"}, version: "0.11.0", avail: 3.81,
			blocks: 1950, tokens: 31200, conc: 1.56, groups: 1, groupSize: 32,
		},
		{
			// Sliding + full (gpt-oss-20b: 12 sliding of window 128, 12 full; 8 KV heads × 64):
			// page = 2 × 16 × 8 × 64 × 2 B = 32,768 B; group size 12 (12 < 1.5 × 12), 2 groups;
			// 10 GiB = 10,737,418,240 B ÷ 32,768 ÷ 12 = 27,306 blocks;
			// printed up to 0.19: 27,306 // 2 groups × 16 = 218,448 tokens;
			// per request: full ceil(131,072/16) = 8,192 + sliding ceil(min(127 + 2,048, 131,072)/16) + 1 = 137 → 8,329;
			// concurrency 27,306 ÷ 8,329 = 3.278.
			name: "sliding window + full, gpt-oss-20b", model: "openai/gpt-oss-20b",
			argv: []string{"--max-model-len=131072"}, version: "0.11.0", avail: 10,
			blocks: 27306, tokens: 218448, conc: 3.278, groups: 2, groupSize: 12,
		},
		{
			// The same without the hybrid allocator: every layer full attention, one group of 24;
			// 10,737,418,240 ÷ 32,768 ÷ 24 = 13,653 blocks = 218,448 tokens; concurrency 13,653 ÷ 8,192 = 1.667.
			name: "sliding sized as full, --disable-hybrid-kv-cache-manager", model: "openai/gpt-oss-20b",
			argv: []string{"--max-model-len=131072", "--disable-hybrid-kv-cache-manager"}, version: "0.11.0", avail: 10,
			blocks: 13653, tokens: 218448, conc: 1.667, groups: 1, groupSize: 24,
		},
		{
			// MLA (DeepSeek-V3: kv_lora_rank 512 + qk_rope_head_dim 64 = 576 values, bf16, one
			// latent head not split by TP 8, block 64): page = 64 × 576 × 2 B = 73,728 B;
			// 20 GiB = 21,474,836,480 ÷ 73,728 ÷ 61 layers = 4,774 blocks = 305,536 tokens;
			// concurrency 4,774 ÷ ceil(163,840/64) = 2,560 → 1.865.
			name: "MLA, DeepSeek-V3 TP 8", model: "deepseek-ai/DeepSeek-V3",
			argv: []string{"--tensor-parallel-size=8"}, version: "0.11.0", avail: 20 + 7*0.03,
			blocks: 4774, tokens: 305536, conc: 1.865, groups: 1, groupSize: 61,
		},
		{
			// Gated DeltaNet + full (Qwen3.5-9B: 24 linear, 8 full; 4 KV heads × 256; bf16):
			// attention 2 × 4 × 256 × 2 = 4,096 B per token; state = conv 3 × (2·16·128 + 32·128 = 8,192) × 2 B
			// = 49,152 + recurrent 32 × 128 × 128 × 4 B (mamba_ssm_dtype float32) = 2,097,152 → 2,146,304 B;
			// block 16 × ceil(2,146,304 / (16 × 4,096)) = 16 × 33 = 528 tokens, page 528 × 4,096 = 2,162,688 B;
			// group size 8 (24 ≥ 1.5 × 8), 1 full + 3 linear groups;
			// 4 GiB = 4,294,967,296 ÷ 2,162,688 ÷ 8 = 248 blocks; printed up to 0.19: 248 // 4 × 528 = 32,736;
			// per request ceil(32,768/528) = 63 + 3 state blocks (mode none) = 66; concurrency 248 ÷ 66 = 3.758.
			name: "linear attention (GDN), Qwen3.5-9B on 0.11", model: "Qwen/Qwen3.5-9B",
			argv: []string{"--max-model-len=32768"}, version: "0.11.0", avail: 4,
			blocks: 248, tokens: 32736, conc: 3.758, groups: 4, groupSize: 8,
		},
		{
			// The club-3090#612 row (vLLM 0.24.0, Qwen3.6-35B-A3B, fp8 KV, 131,072, 5.98 GiB):
			// attention 2 × 2 × 256 × 1 B = 1,024 B per token; state = 3 × 8,192 × 2 + 32 × 128 × 128 × 4 = 2,146,304 B;
			// block 16 × ceil(2,146,304 / 16,384) = 16 × 131 = 2,096 tokens, page 2,146,304 B (no padding);
			// 10 full, 30 linear: group size 10, 4 groups; 5.98 GiB = 6,420,959,969 ÷ 2,146,304 ÷ 10 = 299 blocks;
			// per request ceil(131,072/2,096) = 63 + 3 × 2 (prefix caching: mamba_cache_mode align) = 69;
			// concurrency 299 ÷ 69 = 4.333; printed from 0.20: int(4.3333 × 131,072) = 567,978 — as logged.
			name: "linear attention (GDN), Qwen3.6-35B-A3B on 0.24", model: "Qwen/Qwen3.6-35B-A3B",
			argv: []string{"--max-model-len=131072", "--kv-cache-dtype=fp8"}, version: "0.24.0", avail: 5.98,
			blocks: 299, tokens: 567978, conc: 4.333, groups: 4, groupSize: 10,
		},
		{
			// KDA + MLA (Kimi-Linear-48B-A3B at TP 2, bf16: 20 KDA, 7 MLA layers of 27):
			// MLA 576 values × 2 B = 1,152 B per token (not split by TP); KDA state = conv 3 (q, k, v)
			// × (4 − 1) × (32 × 128 ÷ 2 = 2,048) × 2 B = 36,864 + recurrent 16 × 128 × 128 × 4 B (float32)
			// = 1,048,576 → 1,085,440 B; block 64 × ceil(1,085,440 / (64 × 1,152)) = 64 × 15 = 960 tokens,
			// page 960 × 1,152 = 1,105,920 B; group size 7 (20 ≥ 1.5 × 7): 1 MLA + 3 KDA groups;
			// 2.30 GiB = 2,469,606,195 B ÷ 1,105,920 ÷ 7 = 319 blocks; printed up to 0.19: 319 // 4 × 960 = 75,840;
			// per request ceil(120,000/960) = 125 + 3 state blocks (mode none on 0.11) = 128; concurrency 2.492.
			name: "KDA + MLA, Kimi-Linear-48B-A3B TP 2", model: "moonshotai/Kimi-Linear-48B-A3B-Instruct",
			argv: []string{"--tensor-parallel-size=2", "--max-model-len=120000"}, version: "0.11.0", avail: 2.30 + 0.03,
			blocks: 319, tokens: 75840, conc: 2.492, groups: 4, groupSize: 7,
		},
		{
			// Mamba2 + full (Nemotron-Nano-9B-v2: 27 mamba, 4 attention, 25 MLP-only of 56 blocks):
			// state = conv 3 × (128·80 + 2·8·128 = 12,288) × 2 B = 73,728 + SSM 128 × 80 × 128 × 2 B = 2,621,440
			// → 2,695,168 B; attention 2 × 8 × 128 × 2 = 4,096 B per token;
			// block 16 × ceil(2,695,168 / 65,536) = 16 × 42 = 672, page 2,752,512 B;
			// group size 4 (27 ≥ 1.5 × 4): 1 attention + 7 mamba groups (1 padding slot);
			// 8 GiB = 8,589,934,592 ÷ 2,752,512 ÷ 4 = 780 blocks; printed up to 0.19: 780 // 8 × 672 = 65,184;
			// per request ceil(32,768/672) = 49 + 7 = 56; concurrency 780 ÷ 56 = 13.929.
			name: "Mamba2, Nemotron-Nano-9B-v2", model: "nvidia/NVIDIA-Nemotron-Nano-9B-v2",
			argv: []string{"--max-model-len=32768"}, version: "0.11.0", avail: 8,
			blocks: 780, tokens: 65184, conc: 13.929, groups: 8, groupSize: 4,
		},
		{
			// Chunked local attention + full (Llama 4 Scout: attention_chunk_size 8,192; no_rope_layers
			// by Llama4TextConfig's default: layers 3, 7, …, 47 NoPE = full, the other 36 chunked; 8 KV
			// heads × 128): page = 2 × 16 × 8 × 128 × 2 B = 65,536 B for both; group size 12 (36 ≥ 1.5 × 12):
			// 1 full + 3 chunked groups, as vLLM PR #21761 lists them;
			// 48 GiB = 51,539,607,552 B ÷ 65,536 ÷ 12 = 65,536 blocks;
			// per request: full ceil(131,072/16) = 8,192 + 3 × ceil(min(8,192 + 8,192, 131,072)/16) = 3 × 1,024
			// (ChunkedLocalAttentionSpec: no extra block) = 11,264; concurrency 65,536 ÷ 11,264 = 5.818;
			// printed from 0.20: int(5.8182 × 131,072) = 762,600.
			name: "chunked local attention + full, Llama 4 Scout on 0.23", model: "meta-llama/Llama-4-Scout-17B-16E",
			argv: []string{"--max-model-len=131072", "--max-num-batched-tokens=8192"}, version: "0.23.0", avail: 48,
			blocks: 65536, tokens: 762600, conc: 5.818, groups: 4, groupSize: 12,
		},
		{
			// The same on 0.22, where VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE defaults to off:
			// no hybrid allocator, every layer full attention, one group of 48;
			// 51,539,607,552 ÷ 65,536 ÷ 48 = 16,384 blocks; per request 8,192; concurrency 2;
			// printed: int(2 × 131,072) = 262,144.
			name: "chunked sized as full, Llama 4 Scout on 0.22", model: "meta-llama/Llama-4-Scout-17B-16E",
			argv: []string{"--max-model-len=131072", "--max-num-batched-tokens=8192"}, version: "0.22.0", avail: 48,
			blocks: 16384, tokens: 262144, conc: 2, groups: 1, groupSize: 48,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := KVFigures(model(t, tt.model), vllm.Parse(tt.argv), tt.avail, tt.version)
			if err != nil {
				t.Fatal(err)
			}
			if r.KVBlocks != tt.blocks || r.KVTokens != tt.tokens {
				t.Errorf("blocks %d tokens %d, want %d and %d (layout %+v)", r.KVBlocks, r.KVTokens, tt.blocks, tt.tokens, r.Layout)
			}
			if d := r.Concurrency - tt.conc; d > 0.001 || d < -0.001 {
				t.Errorf("concurrency %.4f, want %.3f", r.Concurrency, tt.conc)
			}
			if len(r.Layout.Groups) != tt.groups || r.Layout.GroupSize != tt.groupSize {
				t.Errorf("%d groups of %d, want %d of %d", len(r.Layout.Groups), r.Layout.GroupSize, tt.groups, tt.groupSize)
			}
		})
	}
	_ = GiB
}

// The KV dtype table: known dtypes exactly, an unknown one assumed 2 B with a note.
func TestKVDTypeBytes(t *testing.T) {
	m := model(t, "Qwen/Qwen3-8B")
	for kv, want := range map[string]float64{"auto": 2, "fp8": 1, "fp8_e5m2": 1, "fp8_e4m3": 1, "nvfp4": 0.5625, "float32": 4} {
		if got, _, note := kvDTypeBytes(kv, "auto", m); got != want || note != "" {
			t.Errorf("%s: %g B (note %q), want %g", kv, got, note, want)
		}
	}
	got, name, note := kvDTypeBytes("turboquant_3bit", "auto", m)
	if got != 2 || !strings.Contains(note, "not in the planner's table") || !strings.Contains(name, "assumed") {
		t.Errorf("unknown dtype: %g %q %q", got, name, note)
	}
}

// MTP speculative decoding adds one full-attention layer to the KV cache,
// MTP weights, and speculative state blocks to linear-attention layers.
func TestMTPAddsLayerAndState(t *testing.T) {
	m := model(t, "Qwen/Qwen3.5-9B")
	base, err := KVFigures(m, vllm.Parse([]string{"--max-model-len=32768"}), 4, "0.11.0")
	if err != nil {
		t.Fatal(err)
	}
	mtp, err := KVFigures(m, vllm.Parse([]string{"--max-model-len=32768", `--speculative-config={"method":"mtp","num_speculative_tokens":2}`}), 4, "0.11.0")
	if err != nil {
		t.Fatal(err)
	}
	// 9 full layers now (8 + MTP): group size 9 (24 ≥ 13.5), 1 full + 3 linear groups;
	// conv rows 3 + 2: state = 5 × 8,192 × 2 + 2,097,152 = 2,179,072 B → block 16 × 34 = 544, page 2,228,224 B;
	// 4,294,967,296 ÷ 2,228,224 ÷ 9 = 214 blocks; per request ceil(32,768/544) = 61 + 3 × (1 + 2) = 70.
	if mtp.KVBlocks != 214 || mtp.Layout.PerRequest != 70 || base.KVBlocks <= mtp.KVBlocks {
		t.Fatalf("MTP: %d blocks, %d per request (base %d blocks)", mtp.KVBlocks, mtp.Layout.PerRequest, base.KVBlocks)
	}
	r := Estimate(Input{Model: m, Args: vllm.Parse([]string{"--max-model-len=32768", `--speculative-config={"method":"mtp","num_speculative_tokens":2}`}), GPUs: h(1, "RTX 4090"), Version: "0.11.0"})
	if !strings.Contains(strings.Join(r.Notes, "\n"), "1 MTP layer(s)") {
		t.Fatalf("notes %q lack the MTP note", r.Notes)
	}
}

// Llama 4's layer kinds follow no_rope_layers (1: RoPE, chunked; 0: NoPE,
// full), its default every fourth layer NoPE; whether the chunked layers get
// their own groups is VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE, else
// the release's default (never with an EAGLE-style draft), and Estimate says
// when they are sized as full.
func TestChunkedLocalAttention(t *testing.T) {
	m := model(t, "meta-llama/Llama-4-Scout-17B-16E")
	kinds := m.layerKinds()
	if len(kinds) != 48 || kinds[3] != LayerFull || kinds[47] != LayerFull || kinds[0] != LayerChunked || kinds[46] != LayerChunked {
		t.Fatalf("kinds %v", kinds)
	}
	if got := m.kindsSummary(); got != "36 chunked_local_attention + 12 full_attention" {
		t.Errorf("layer mix %q, want 36 chunked + 12 full", got)
	}
	explicit, err := fromHF(hfConfig{Layers: 4, Heads: 8, KVHeads: 2, Hidden: 512, AttentionChunk: 64, NoRopeLayers: []int{0, 1, 1, 0}}, "x")
	if err != nil || !slices.Equal(explicit.LayerTypes, []LayerKind{LayerFull, LayerChunked, LayerChunked, LayerFull}) {
		t.Errorf("explicit no_rope_layers: %v %v", explicit.LayerTypes, err)
	}
	for _, tt := range []struct {
		version string
		env     map[string]string
		hybrid  bool
	}{
		{"0.22.0", nil, false},
		{"0.22.0", map[string]string{"VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE": "1"}, true},
		{"0.23.0", nil, true},
		{"0.23.0", map[string]string{"VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE": "0"}, false},
		{"0.23.0 eagle3", nil, false},
	} {
		argv := []string{"--max-model-len=131072", "--tensor-parallel-size=8"}
		if strings.HasSuffix(tt.version, "eagle3") {
			argv = append(argv, `--speculative-config={"method":"eagle3","model":"a/draft","num_speculative_tokens":3}`)
		}
		a := vllm.Parse(argv)
		r := Estimate(Input{Model: m, Args: a, GPUs: h(8, "H200"), Version: strings.TrimSuffix(tt.version, " eagle3"), Environ: tt.env})
		if r.Layout == nil {
			t.Fatalf("%s %v: no layout: %s", tt.version, tt.env, r.NoPrediction)
		}
		noted := slices.ContainsFunc(r.Notes, func(n string) bool {
			return strings.Contains(n, "chunked local-attention layers are sized as full attention")
		})
		if r.Layout.Hybrid != tt.hybrid || noted == tt.hybrid {
			t.Errorf("%s %v: hybrid %v (noted as full: %v), want hybrid %v", tt.version, tt.env, r.Layout.Hybrid, noted, tt.hybrid)
		}
	}
}

// Kimi Linear's config: linear_attn_config's full_attn_layers (1-based) are
// MLA, the rest KDA; its fields num_experts_per_token, num_shared_experts and
// model_max_length are read; the parameter count derived from it is within
// 5 % of the 48 B MoonshotAI states.
func TestKimiLinearConfig(t *testing.T) {
	m := model(t, "moonshotai/Kimi-Linear-48B-A3B-Instruct")
	kinds := m.layerKinds()
	if len(kinds) != 27 || kinds[3] != LayerMLA || kinds[26] != LayerMLA || kinds[0] != LayerKDA || kinds[25] != LayerKDA {
		t.Fatalf("kinds %v", kinds)
	}
	if got := m.kindsSummary(); got != "20 kda + 7 mla" {
		t.Errorf("layer mix %q", got)
	}
	if m.Kind != "hybrid" || m.ExpertsPerTok != 8 || m.MaxPositions != 1048576 || m.KDAHeads != 32 || m.KDAHeadDim != 128 || m.KDAConvKernel != 4 {
		t.Errorf("model %+v", m)
	}
	if m.ParamsB < 48*0.95 || m.ParamsB > 48*1.05 {
		t.Errorf("derived %.2f B parameters, MoonshotAI states 48 B", m.ParamsB)
	}
	for name, want := range map[string]string{
		"cyankiwi/Kimi-Linear-48B-A3B-Instruct-AWQ-4bit": "awq",
		"unsloth/Qwen2.5-7B-Instruct-bnb-4bit":           "bitsandbytes",
		"someone/Qwen2.5-7B-Instruct-4bit":               "bitsandbytes",
		"Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4":             "gptq",
	} {
		if got := CheckpointQuant(name); got != want {
			t.Errorf("CheckpointQuant(%s) = %q, want %q", name, got, want)
		}
	}
}

// A state group records its own state size beside the page it is padded to:
// Kimi-Linear's KDA state at TP 2 is 1,085,440 B in a 1,105,920 B page (the
// attention block grown to 960 tokens), and --explain says so (it said 0 B).
func TestStateGroupRealPage(t *testing.T) {
	m := model(t, "cyankiwi/Kimi-Linear-48B-A3B-Instruct-AWQ-4bit")
	a := vllm.Parse([]string{"--tensor-parallel-size=2", "--max-model-len=120000"})
	g, _ := gpu.Declare("RTX 3090", "", 2)
	r := Estimate(Input{Model: m, Args: a, GPUs: g, Version: "0.11.1"})
	if r.Layout == nil {
		t.Fatalf("no layout: %v", r.Notes)
	}
	n := 0
	for _, gr := range r.Layout.Groups {
		if gr.Kind != LayerKDA {
			continue
		}
		n++
		if gr.RealPage != 1085440 || gr.PageBytes != 1105920 {
			t.Errorf("KDA group: real %d B, page %d B, want 1,085,440 in 1,105,920", gr.RealPage, gr.PageBytes)
		}
	}
	if n != 3 {
		t.Errorf("%d KDA groups, want 3", n)
	}
	if !slices.ContainsFunc(r.Explain, func(l Line) bool { return strings.Contains(l.Formula, "state 1,085,440 B per sequence") }) {
		t.Errorf("explain does not give the state size")
	}
}

// Per-token-head KV dtypes keep a float32 scale per token and head for K and
// for V beside 1-byte values: fewer tokens than fp8 by head_dim ÷ (head_dim + 4).
func TestPerTokenHeadKVScales(t *testing.T) {
	m, ok := LookupModel("Qwen/Qwen3-8B")
	if !ok {
		t.Fatal("Qwen/Qwen3-8B not in the catalog")
	}
	fig := func(dtype string) Result {
		r, err := KVFigures(m, vllm.Parse([]string{"--max-model-len=32768", "--kv-cache-dtype=" + dtype}), 10, "0.24.0")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	fp8, pth := fig("fp8"), fig("int8_per_token_head")
	ratio := float64(pth.KVTokens) / float64(fp8.KVTokens)
	want := 128.0 / 132
	if math.Abs(ratio-want) > 0.002 {
		t.Errorf("int8_per_token_head holds %d tokens against fp8's %d (ratio %.4f), want %.4f (head_dim 128 + 4 B of scale per K or V)", pth.KVTokens, fp8.KVTokens, ratio, want)
	}
	if r := Estimate(Input{Model: m, Args: vllm.Parse([]string{"--max-model-len=32768", "--kv-cache-dtype=fp8_per_token_head"}), GPUs: h(1, "RTX 4090"), Version: "0.24.0"}); r.KVDTypeBytes != 1 {
		t.Errorf("kv_dtype_bytes %d, want 1 (the value's bytes)", r.KVDTypeBytes)
	}
}
