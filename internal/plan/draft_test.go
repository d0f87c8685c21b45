package plan

import (
	"math"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/vllm"
)

func draftArgs(extra ...string) vllm.Args {
	return vllm.Parse(append([]string{"--model=x", "--max-model-len=32768"}, extra...))
}

// Qwen3-8B with Qwen3-0.6B as draft model (vLLM's own draft_model example):
// both have 8 KV heads of 128, so every layer is 2 × 8 × 128 × 2 B = 4,096
// B/token, page 16 × 4,096 = 65,536 B, and the draft's 28 layers join the
// target's 36 in one group of 64 tensors.
//
//	10 GiB = 10,737,418,240 B ÷ 65,536 ÷ 64 = 2,560 blocks (40,960 tokens)
//	without the draft: ÷ 36 = 4,551 blocks (72,816 tokens)
func TestDraftModelSameSpecJoinsGroup(t *testing.T) {
	m := model(t, "Qwen/Qwen3-8B")
	spec := `--speculative-config={"method":"draft_model","model":"Qwen/Qwen3-0.6B","num_speculative_tokens":5}`
	base, err := KVFigures(m, draftArgs(), 10, "0.14.0")
	if err != nil {
		t.Fatal(err)
	}
	r, err := KVFigures(m, draftArgs(spec), 10, "0.14.0")
	if err != nil {
		t.Fatal(err)
	}
	if base.KVBlocks != 4551 || base.KVTokens != 72816 {
		t.Fatalf("without draft: %d blocks, %d tokens; want 4,551 and 72,816", base.KVBlocks, base.KVTokens)
	}
	lo := r.Layout
	if r.KVBlocks != 2560 || r.KVTokens != 40960 || lo.GroupSize != 64 || len(lo.Groups) != 1 || lo.Groups[0].Draft != 28 || lo.BlockBytes != 0 {
		t.Fatalf("with draft: %d blocks, %d tokens, %d tensors, groups %+v", r.KVBlocks, r.KVTokens, lo.GroupSize, lo.Groups)
	}
	// num_speculative_tokens adds no attention block per request: 32,768 ÷ 16.
	if lo.PerRequest != 2048 {
		t.Errorf("blocks per request %d, want 2,048", lo.PerRequest)
	}
}

// Llama-3.1-8B with Llama-3.2-1B as draft: the draft's layers are
// 2 × 8 × 64 × 2 B = 2,048 B/token (page 32,768 B), the target's 4,096
// (page 65,536 B): all full attention at block 16, so vLLM takes
// UniformTypeKVCacheSpecs, one group whose block is
// 32 × 65,536 + 16 × 32,768 = 2,621,440 B.
//
//	10 GiB ÷ 2,621,440 = 4,096 blocks = 65,536 tokens (without: 5,120, 81,920)
//
// vLLM V0 (the old --speculative-model flags) split the same memory with
// split_num_cache_blocks_evenly into equally many target and draft blocks:
// 10,737,418,240 ÷ (2,097,152 + 524,288) = 4,096 as well.
func TestDraftModelOtherPageSharesBlock(t *testing.T) {
	m := model(t, "meta-llama/Llama-3.1-8B-Instruct")
	for _, tt := range []struct {
		version string
		args    []string
	}{
		{"0.14.0", []string{`--speculative-config={"model":"meta-llama/Llama-3.2-1B-Instruct","num_speculative_tokens":5}`}},
		{"0.6.4", []string{"--speculative-model=meta-llama/Llama-3.2-1B-Instruct", "--num-speculative-tokens=5"}},
	} {
		r, err := KVFigures(m, draftArgs(tt.args...), 10, tt.version)
		if err != nil {
			t.Fatal(err)
		}
		lo := r.Layout
		if r.KVBlocks != 4096 || r.TokensBlocks != 65536 || lo.BlockBytes != 2621440 || lo.tableGroups() != 1 || lo.PerRequest != 2048 {
			t.Errorf("%s: %d blocks, %d tokens, block %d B, %d groups, %d per request; want 4,096, 65,536, 2,621,440 B, 1, 2,048",
				tt.version, r.KVBlocks, r.TokensBlocks, lo.BlockBytes, lo.tableGroups(), lo.PerRequest)
		}
		if len(lo.Groups) != 2 || lo.Groups[1].Draft != 16 || !lo.Groups[1].SharesTable || lo.Groups[1].PageBytes != 32768 {
			t.Errorf("%s: groups %+v", tt.version, lo.Groups)
		}
	}
}

// The draft's weights sit on every rank split by the target's TP (V1), or
// whole on the first rank with draft TP 1 (V0): Llama-3.2-1B is 1.24B params
// at 16 bits = 2.48e9 B = 2.31 GiB; at TP 2, 1.15 GiB per rank.
func TestDraftModelWeights(t *testing.T) {
	m := model(t, "meta-llama/Llama-3.1-8B-Instruct")
	weights := func(version string, extra ...string) (float64, Result) {
		r := Estimate(Input{Model: m, Args: draftArgs(append([]string{"--tensor-parallel-size=2"}, extra...)...), GPUs: h(2, "H100"), Version: version})
		if len(r.Ranks) == 0 {
			t.Fatalf("%s %v: no ranks (%v)", version, extra, r.Notes)
		}
		return r.Ranks[0].Weights, r
	}
	base, _ := weights("0.14.0")
	v1, r := weights("0.14.0", `--speculative-config={"method":"draft_model","model":"meta-llama/Llama-3.2-1B-Instruct","num_speculative_tokens":4}`)
	if d := v1 - base; math.Abs(d-2.48e9/2/gib) > 0.005 {
		t.Errorf("V1 draft adds %.3f GiB per rank, want %.3f", d, 2.48e9/2/gib)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "draft meta-llama/Llama-3.2-1B") {
		t.Errorf("notes %q lack the draft", r.Notes)
	}
	base0, _ := weights("0.6.4")
	v0, _ := weights("0.6.4", "--speculative-model=meta-llama/Llama-3.2-1B-Instruct", "--num-speculative-tokens=4", "--speculative-draft-tensor-parallel-size=1")
	if d := v0 - base0; math.Abs(d-2.48e9/gib) > 0.005 {
		t.Errorf("V0 draft TP 1 adds %.3f GiB to rank 0, want %.3f", d, 2.48e9/gib)
	}
	// V1 runs the draft in the target's workers: another draft TP raises.
	_, bad := weights("0.14.0", `--speculative-config={"model":"meta-llama/Llama-3.2-1B-Instruct","num_speculative_tokens":4,"draft_tensor_parallel_size":1}`)
	if !strings.Contains(strings.Join(bad.Reasons, "\n"), "draft_tensor_parallel_size 1") {
		t.Errorf("reasons %q lack the draft TP refusal", bad.Reasons)
	}
	if bad.Verdict != EngineRefuses || !bad.Verdict.Failing() || len(bad.Fixes) == 0 || !strings.Contains(bad.Fixes[0], "draft_tensor_parallel_size") {
		t.Errorf("draft TP refusal: verdict %s, fixes %q; want %s with the fix first", bad.Verdict, bad.Fixes, EngineRefuses)
	}
}

// An unknown draft is said in the notes and the verdict's reasons, never a
// silent zero; releases 0.10-0.13 refuse a draft model.
func TestDraftModelUnknownAndRefused(t *testing.T) {
	m := model(t, "meta-llama/Llama-3.1-8B-Instruct")
	for _, tt := range []struct {
		version, spec, want string
	}{
		{"0.14.0", `{"model":"someone/unknown-draft","num_speculative_tokens":3}`, "draft model someone/unknown-draft (draft_model) is not known"},
		{"0.14.0", `{"model":"yuhuili/EAGLE-LLaMA3.1-Instruct-8B","num_speculative_tokens":3}`, "(eagle) is not known"},
		{"0.11.0", `{"model":"meta-llama/Llama-3.2-1B-Instruct","num_speculative_tokens":3}`, "refuses a separate draft model"},
	} {
		r := Estimate(Input{Model: m, Args: draftArgs("--speculative-config=" + tt.spec), GPUs: h(1, "H100"), Version: tt.version})
		if !strings.Contains(strings.Join(r.Reasons, "\n"), tt.want) || !strings.Contains(strings.Join(r.Notes, "\n"), tt.want) {
			t.Errorf("%s %s: reasons %q, notes %q lack %q", tt.version, tt.spec, r.Reasons, r.Notes, tt.want)
		}
		// A release that refuses the draft fails the plan; an unknown draft
		// is a caveat of a memory verdict, not a refusal.
		if refused := strings.HasPrefix(tt.version, "0.11"); (r.Verdict == EngineRefuses) != refused {
			t.Errorf("%s %s: verdict %s, refused %v", tt.version, tt.spec, r.Verdict, refused)
		}
		if r.Layout == nil || r.Layout.tableGroups() != 1 || r.Layout.Groups[0].Draft != 0 || r.Layout.GroupSize != 32 {
			t.Errorf("%s %s: layout %+v, want the target's 32 layers alone", tt.version, tt.spec, r.Layout)
		}
	}
}

// A hybrid target (Qwen3.5-9B: 8 full-attention layers of 2 × 4 × 256 × 2 B
// = 4,096 B/token, 24 Gated DeltaNet layers) with a 2-layer draft of 2 KV
// heads of 256 (2,048 B/token), num_speculative_tokens 2, no prefix caching:
//
//	state (3 + 2) × 8,192 × 2 + 32 × 128 × 128 × 4 (float32 SSM state)
//	= 2,179,072 B; the block grows from
//	the target's attention: 16 × cdiv(2,179,072, 16 × 4,096) = 544 tokens,
//	page 2,228,224 B (cache_config.block_size, the draft's layers too);
//	draft page 544 × 2,048 = 1,114,112 B, unified to 2,228,224 by block 1,088;
//	groups by spec: 8 full, 24 state, 2 draft: group size 2 (24 ≥ 1.5 × 2),
//	4 + 12 + 1 = 17 groups of 2 tensors;
//	per request 4 × cdiv(32,768, 544) = 244 + 12 × (1 + 2) = 36
//	+ cdiv(32,768, 1,088) = 31: 311 blocks.
func TestDraftLayersInHybridLayout(t *testing.T) {
	m := model(t, "Qwen/Qwen3.5-9B")
	d := Model{ID: "test/draft", Layers: 2, KVHeads: 2, HeadDim: 256, Vocab: m.Vocab}
	lo, err := m.layout(layoutInput{TP: 1, PP: 1, KVBytes: 2, ModelBytes: 2, SSMBytes: 4, MaxModelLen: 32768, BatchedTokens: 2048,
		SpecTokens: 2, Draft: &d, DraftTP: 1})
	if err != nil {
		t.Fatal(err)
	}
	if lo.PageBytes != 2228224 || lo.GroupSize != 2 || len(lo.Groups) != 17 || lo.PerRequest != 311 {
		t.Fatalf("page %d, %d tensors, %d groups, %d per request; want 2,228,224, 2, 17, 311", lo.PageBytes, lo.GroupSize, len(lo.Groups), lo.PerRequest)
	}
	last := lo.Groups[len(lo.Groups)-1]
	if last.Draft != 2 || last.BlockSize != 1088 || last.Kind != LayerFull || last.RealPage != 2228224 {
		t.Errorf("draft group %+v", last)
	}
}

// vLLM's draft_model method raises when the vocabularies differ
// (verify_equal_vocab_size_if_draft_model): Qwen3-8B has 151,936 entries,
// Llama-3.2-1B 128,256.
func TestDraftModelVocabMismatch(t *testing.T) {
	m := model(t, "Qwen/Qwen3-8B")
	r := Estimate(Input{Model: m, Args: draftArgs(`--speculative-config={"model":"meta-llama/Llama-3.2-1B-Instruct","num_speculative_tokens":3}`), GPUs: h(1, "H100"), Version: "0.14.0"})
	if !strings.Contains(strings.Join(r.Reasons, "\n"), "vocabulary of 128,256, the target 151,936") {
		t.Errorf("reasons %q lack the vocabulary refusal", r.Reasons)
	}
	if r.Verdict != EngineRefuses {
		t.Errorf("vocabulary mismatch: verdict %s, want %s", r.Verdict, EngineRefuses)
	}
}
