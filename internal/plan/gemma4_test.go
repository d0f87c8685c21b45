package plan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// Gemma 4 31B from its config.json (text_config): 60 layers, every 6th full.
// Worked by hand, bf16 KV, TP 1, after vLLM's gemma4.py:
//
//	sliding layer: 2 × 16 KV heads × head_dim 256 × 2 B = 16,384 B/token,
//	               page 16 tokens × 16,384 = 262,144 B
//	full layer:    2 × 4 global KV heads × global_head_dim 512 × 2 B = 8,192 B/token,
//	               page 131,072 B at 16 tokens, unified to 262,144 B: block 32
//	50 sliding + 10 full layers: groups of 10 (50 ≥ 1.5 × 10), 5 sliding
//	groups + 1 full group = 6 groups sharing 10 tensors of 262,144 B pages.
//
// hf-mem#61 (https://github.com/alvarobartt/hf-mem/pull/61) quotes vLLM for
// google/gemma-4-31B-it: "Available KV cache memory: 24.54 GiB", "GPU KV cache
// size: 26,800 tokens". floor(24.54 GiB = 26,349,624,360 B ÷ 262,144 ÷ 10) =
// 10,051 blocks; 10,051 // 6 groups × 16 = 26,800 tokens (the printing before
// PR #41069). After it, at max_model_len 262,144 and 2,048 batched tokens a
// request holds 262,144 ÷ 32 = 8,192 full blocks + 5 × (cdiv(1,023 + 2,048, 16)
// + 1) = 965 sliding blocks = 9,157; 10,051 ÷ 9,157 × 262,144 = 287,737 tokens.
func TestGemma4_31BLayout(t *testing.T) {
	m := model(t, "google/gemma-4-31B-it")
	if m.GlobalHeadDim != 512 || m.GlobalKVHeads != 4 || m.KVHeads != 16 || m.HeadDim != 256 ||
		m.SlidingWindow != 1024 || m.KVSharedLayers != 0 || !m.Multimodal {
		t.Fatalf("config facts: %+v", m)
	}
	if got := m.kindsSummary(); got != "50 sliding_attention + 10 full_attention" {
		t.Errorf("layer mix %q", got)
	}
	args := vllm.Parse([]string{"--max-model-len=262144", "--max-num-batched-tokens=2048"})
	r, err := KVFigures(m, args, 24.54, "0.19.0")
	if err != nil {
		t.Fatal(err)
	}
	lo := r.Layout
	if lo.PageBytes != 262144 || lo.GroupSize != 10 || len(lo.Groups) != 6 || lo.PerRequest != 9157 {
		t.Fatalf("layout: page %d, %d tensors, %d groups, %d blocks per request", lo.PageBytes, lo.GroupSize, len(lo.Groups), lo.PerRequest)
	}
	for _, g := range lo.Groups {
		want := map[LayerKind]int{LayerSliding: 16, LayerFull: 32}[g.Kind]
		if g.BlockSize != want || g.Layers != 10 {
			t.Errorf("%s group: block %d (want %d), %d layers", g.Kind, g.BlockSize, want, g.Layers)
		}
		// A grown block is not padding: 32 tokens × 8,192 B fill the page.
		if g.RealPage != 262144 {
			t.Errorf("%s group: real page %d B, want 262,144", g.Kind, g.RealPage)
		}
	}
	if r.KVBlocks != 10051 || r.TokensBlocks != 26800 || r.KVTokens != 26800 {
		t.Errorf("blocks %d, tokens %d (printed %d); want 10,051 and 26,800", r.KVBlocks, r.TokensBlocks, r.KVTokens)
	}
	if r.TokensConc != 287737 {
		t.Errorf("tokens after PR #41069: %d, want 287,737", r.TokensConc)
	}
	// All as full attention (--disable-hybrid-kv-cache-manager):
	// unify_hybrid_kv_cache_specs makes the 50 sliding layers
	// FullAttentionSpec, so every layer is full attention at block 16 with
	// two page sizes: get_kv_cache_groups takes UniformTypeKVCacheSpecs, one
	// group whose block is 50 × 262,144 + 10 × 131,072 = 14,417,920 B.
	// 26,349,624,360 B ÷ 14,417,920 = 1,827 blocks; a request of 262,144
	// tokens holds 262,144 ÷ 16 = 16,384 of them.
	r2, err := KVFigures(m, vllm.Parse([]string{"--max-model-len=262144", "--disable-hybrid-kv-cache-manager"}), 24.54, "0.21.0")
	if err != nil {
		t.Fatal(err)
	}
	if lo2 := r2.Layout; lo2.PerRequest != 16384 || lo2.BlockBytes != 14417920 || r2.KVBlocks != 1827 || lo2.tableGroups() != 1 {
		t.Errorf("without the hybrid allocator: %d blocks per request, block %d B, %d blocks, %d groups; want 16,384, 14,417,920 B, 1,827, 1",
			lo2.PerRequest, lo2.BlockBytes, r2.KVBlocks, lo2.tableGroups())
	}
}

// Gemma 4 26B-A4B: 30 layers (25 sliding, 5 full), 8 KV heads of 256 on
// sliding layers, 2 global KV heads of 512 on full ones; 128 experts, top 8.
//
//	sliding: 2 × 8 × 256 × 2 B = 8,192 B/token, page 131,072 B
//	full:    2 × 2 × 512 × 2 B = 4,096 B/token, block 32 for the same page
//	groups of 5: 5 sliding + 1 full = 6 groups, 5 tensors.
//
// 10 GiB = 10,737,418,240 B ÷ 131,072 ÷ 5 = 16,384 blocks; 16,384 // 6 × 16 =
// 43,680 tokens.
func TestGemma4_26BA4BLayout(t *testing.T) {
	m := model(t, "google/gemma-4-26B-A4B")
	if m.Experts != 128 || m.ExpertsPerTok != 8 || m.ExpertFFN != 704 || m.GlobalKVHeads != 2 || m.GlobalHeadDim != 512 {
		t.Fatalf("config facts: %+v", m)
	}
	// 25.2B text parameters (model card) against the count of its config.
	var e catalogEntry
	for _, x := range mustEntries(t) {
		if x.ID == "google/gemma-4-26B-A4B-it" {
			e = x
		}
	}
	if p := configParams(e.Config) / 1e9; p < 25.1 || p > 25.3 {
		t.Errorf("config parameters %.3fB, want 25.2B", p)
	}
	r, err := KVFigures(m, vllm.Parse([]string{"--max-model-len=131072"}), 10, "0.19.0")
	if err != nil {
		t.Fatal(err)
	}
	if r.Layout.PageBytes != 131072 || r.Layout.GroupSize != 5 || len(r.Layout.Groups) != 6 || r.KVBlocks != 16384 || r.KVTokens != 43680 {
		t.Errorf("page %d, %d tensors, %d groups, %d blocks, %d tokens", r.Layout.PageBytes, r.Layout.GroupSize, len(r.Layout.Groups), r.KVBlocks, r.KVTokens)
	}
}

// num_kv_shared_layers (Gemma 3n, Gemma 4 E2B/E4B): the last layers read an
// earlier layer's KV and own none. Four layers [sliding, full, sliding, full]
// with the last two shared: one sliding and one full layer own KV, 2 × 1 ×
// 16 × 2 B = 64 B/token each (global_head_dim 16 on the full layer too).
func TestKVSharedLayersOwnNoCache(t *testing.T) {
	win := 8
	c := hfConfig{Layers: 4, Heads: 2, KVHeads: 1, HeadDim: 16, Hidden: 32, Intermediate: 64, Vocab: 64, MaxPositions: 64,
		SlidingWindow: &win, LayerTypes: []string{"sliding_attention", "full_attention", "sliding_attention", "full_attention"},
		GlobalHeadDim: 16, KVShared: 2}
	m, err := fromHF(c, "tiny")
	if err != nil {
		t.Fatal(err)
	}
	specs, err := m.specs(layoutInput{TP: 1, PP: 1, KVBytes: 2, ModelBytes: 2, SSMBytes: 2, MaxModelLen: 64, BatchedTokens: 64})
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 || specs[0].kind != LayerSliding || specs[1].kind != LayerFull || specs[0].perToken != 64 || specs[1].perToken != 64 {
		t.Fatalf("specs %+v", specs)
	}
}

func mustEntries(t *testing.T) []catalogEntry {
	t.Helper()
	var entries []catalogEntry
	if err := json.Unmarshal(catalogJSON, &entries); err != nil {
		t.Fatal(err)
	}
	return entries
}

// cyankiwi/Kimi-Linear-48B-A3B-Instruct-AWQ-4bit quantizes the routed experts
// only (compressed-tensors, 4 bits, group 32, symmetric; attention, dense and
// shared-expert MLPs and lm_head ignored): 26 MoE layers × 256 experts × 3 ×
// 2,304 × 1,024 = 47,110,422,528 weights at 4 + 16 ÷ 32 = 4.5 bits =
// 26,499,612,672 B, the other parameters at 2 B. vllm#28228 logs "Model
// loading took 14.2491 GiB" per rank at TP 2.
func TestExpertsOnlyCheckpointWeights(t *testing.T) {
	m := model(t, "cyankiwi/Kimi-Linear-48B-A3B-Instruct-AWQ-4bit")
	if m.ExpertQuantBits != 4.5 || m.MoELayers != 26 {
		t.Fatalf("expert bits %g, MoE layers %d", m.ExpertQuantBits, m.MoELayers)
	}
	const experts = 47110422528.0
	want := experts*4.5/8 + (m.ParamsB*1e9-experts)*2
	got, _ := weightBytes(m, m.CheckpointQ, "float16")
	if got != want {
		t.Errorf("weights %.0f B, want %.0f B", got, want)
	}
	if perRank := got / 2 / gib; perRank < 14.15 || perRank > 14.35 {
		t.Errorf("%.2f GiB per rank at TP 2; vLLM logged 14.2491", perRank)
	}
	// The base model keeps the name lookup's AWQ assumption.
	if b := model(t, "moonshotai/Kimi-Linear-48B-A3B-Instruct"); b.ExpertQuantBits != 0 {
		t.Errorf("base model has expert bits %g", b.ExpertQuantBits)
	}
}

// From 0.26 (vLLM PR #47728) a sliding-window layer reserves its window plus
// the tokens in flight — two batches under async scheduling — capped at
// max_model_len. A stock 0.26.0 log of Gemma 4 31B on a B300 (TP 1, 16,384
// context, 8,192 batched tokens: 1,023 + 16,384 reaches the cap) prints
// "Available KV cache memory: 182.37 GiB", "GPU KV cache size: 217,116 tokens",
// "Maximum concurrency for 16,384 tokens per request: 13.25x"
// (johnpfeiffer/source.johnpfeiffer.github.io, content/ai/b300-deepseek-0731.md).
func TestGemma4SlidingInFlight(t *testing.T) {
	m := model(t, "google/gemma-4-31B-it")
	args := vllm.Parse([]string{"--max-model-len=16384", "--max-num-batched-tokens=8192"})
	r, err := KVFigures(m, args, 182.37, "0.26.0")
	if err != nil {
		t.Fatal(err)
	}
	if r.Layout.PerRequest != 5*1025+512 || r.KVTokens != 217110 {
		t.Errorf("0.26: %d blocks per request, %d tokens; want 5,637 and 217,110 (vLLM 217,116)", r.Layout.PerRequest, r.KVTokens)
	}
	// One batch in flight: before 0.26, and with --no-async-scheduling.
	for _, c := range []struct {
		version string
		argv    []string
	}{{"0.25.1", nil}, {"0.26.0", []string{"--no-async-scheduling"}}} {
		r, err := KVFigures(m, vllm.Parse(append([]string{"--max-model-len=16384", "--max-num-batched-tokens=8192"}, c.argv...)), 182.37, c.version)
		if err != nil {
			t.Fatal(err)
		}
		if want := 5*(int(cdiv(1023+8192, 16))+1) + 512; r.Layout.PerRequest != want {
			t.Errorf("%s %v: %d blocks per request, want %d (one batch in flight)", c.version, c.argv, r.Layout.PerRequest, want)
		}
	}
}

// From 0.22 (vLLM PR #43051) an unset --max-num-batched-tokens is raised to
// Gemma 4's largest multimodal item, a video of 32 × 78 = 2,496 tokens, and a
// sliding group reserves cdiv(1,023 + 2,496, 16) + 1 = 221 blocks per
// request. A 0.25.1 log of gemma-4-26B-A4B on an L40S (32,768 context, no
// batched-token flag) prints "Available KV cache memory: 12.75 GiB", "GPU KV
// cache size: 321,600 tokens" and "Maximum concurrency for 32,768 tokens per
// request: 9.81x" (issue 13 row 68): 20,895 blocks ÷ (1,024 + 5 × 221).
func TestGemma4VideoBatchedFloor(t *testing.T) {
	m := model(t, "google/gemma-4-26B-A4B-it")
	for _, c := range []struct {
		version string
		argv    []string
		sliding int
	}{
		{"0.25.1", nil, 221},
		{"0.21.0", nil, 193}, // before the floor: 2,048
		{"0.25.1", []string{"--language-model-only"}, 193},         // no multimodal item
		{"0.25.1", []string{"--max-num-batched-tokens=2048"}, 193}, // a written value stays
	} {
		r, err := KVFigures(m, vllm.Parse(append([]string{"--max-model-len=32768"}, c.argv...)), 12.7533, c.version)
		if err != nil {
			t.Fatal(err)
		}
		if want := 1024 + 5*c.sliding; r.Layout.PerRequest != want {
			t.Errorf("%s %v: %d blocks per request, want %d", c.version, c.argv, r.Layout.PerRequest, want)
		}
		if c.sliding == 221 && r.KVTokens != 321600 {
			t.Errorf("%s: %d tokens, vLLM printed 321,600", c.version, r.KVTokens)
		}
	}
	// The end-to-end plan says why its batched tokens are not 2,048.
	g, _ := gpu.Declare("L40S", "", 1)
	r := Estimate(Input{Model: m, Args: vllm.Parse([]string{"--max-model-len=32768"}), GPUs: g, Version: "0.25.1"})
	if r.BatchedTokens != 2496 || !strings.Contains(strings.Join(r.Notes, "\n"), "Raising max_num_batched_tokens from 2048 to 2496") {
		t.Errorf("batched %d, notes %q", r.BatchedTokens, r.Notes)
	}
}
