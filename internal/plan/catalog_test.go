package plan

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// TestCatalogRows checks every catalog row (aliases included): it names the
// config.json (or the public copy of it) its numbers were read from, its
// attention numbers agree with each other (heads × head_dim within 1/4 to 4
// times hidden: real configs run from 0.5 for Gemma 3 to 3 for GLM-4.5-Air), and a stated parameter count is
// within 10 % of the count its own config values give (configParams; the
// vision tower, when the row states it, is not in that count). A typo in a
// layer count, a hidden size or a parameter total fails here.
func TestCatalogRows(t *testing.T) {
	var entries []catalogEntry
	if err := json.Unmarshal(catalogJSON, &entries); err != nil {
		t.Fatal(err)
	}
	derived := map[string]float64{}
	for _, e := range entries {
		if e.ParamsB > 0 {
			for _, id := range append([]string{e.ID}, e.Aliases...) {
				derived[id] = configParams(e.Config) / 1e9
			}
		}
	}
	rows := Catalog()
	if len(rows) == 0 {
		t.Fatal("empty catalog")
	}
	checked := 0
	for _, m := range rows {
		est, ok := derived[m.ID]
		if !ok && m.Experts == 0 && m.Kind != "moe" && !strings.Contains(m.Source, "parameters derived") {
			est, ok = denseParams(m)/1e9, true
		}
		if ok && est > 0 {
			checked++
		}
		t.Run(m.ID, func(t *testing.T) {
			if !strings.Contains(m.Source, "https://") {
				t.Errorf("source %q names no address", m.Source)
			}
			if m.Layers <= 0 || m.Heads <= 0 || m.KVHeads <= 0 || m.HeadDim <= 0 || m.Hidden <= 0 || m.Vocab <= 0 {
				t.Fatalf("missing architecture numbers: %+v", m)
			}
			if m.Heads%m.KVHeads != 0 {
				t.Errorf("%d attention heads are not a multiple of %d KV heads", m.Heads, m.KVHeads)
			}
			if r := float64(m.Heads*m.HeadDim) / float64(m.Hidden); r < 0.25 || r > 4 {
				t.Errorf("heads × head_dim = %d against hidden %d (ratio %.2f)", m.Heads*m.HeadDim, m.Hidden, r)
			}
			if m.LayerTypes != nil && len(m.LayerTypes) != m.Layers {
				t.Errorf("%d layer kinds for %d layers", len(m.LayerTypes), m.Layers)
			}
			if m.ParamsB <= 0 || m.VisionParamsB >= m.ParamsB {
				t.Fatalf("parameters %.2fB (vision %.2fB)", m.ParamsB, m.VisionParamsB)
			}
			if !ok || est == 0 {
				return
			}
			text := m.ParamsB - m.VisionParamsB
			if d := math.Abs(est-text) / text; d > 0.10 {
				t.Errorf("states %.2fB parameters (text %.2fB), its config gives %.2fB (%.0f %% off)", m.ParamsB, text, est, d*100)
			}
		})
	}
	if checked < len(rows)/2 {
		t.Errorf("parameter counts checked on %d of %d rows", checked, len(rows))
	}
}

// denseParams is configParams for a dense row of catalog.csv.
func denseParams(m Model) float64 {
	return configParams(hfConfig{Layers: m.Layers, Heads: m.Heads, KVHeads: m.KVHeads, HeadDim: m.HeadDim,
		Hidden: m.Hidden, Intermediate: m.Intermediate, Vocab: m.Vocab, Tie: m.Tie})
}

// TestConfigParams works the parameter count of three layouts by hand.
func TestConfigParams(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    hfConfig
		want float64
	}{
		// Qwen3-0.6B: tied 151936 × 1024 + 28 × (2·1024·16·128 + 2·1024·8·128 + 3·1024·3072).
		{"dense", hfConfig{Layers: 28, Heads: 16, KVHeads: 8, HeadDim: 128, Hidden: 1024, Intermediate: 3072, Vocab: 151936, Tie: true},
			151936*1024 + 28*(2*1024*16*128+2*1024*8*128+3*1024*3072)},
		// Mixtral 8x7B: untied embeddings, 8 experts of 3 × 4096 × 14336 and a router per layer.
		{"moe", hfConfig{Layers: 32, Heads: 32, KVHeads: 8, Hidden: 4096, Intermediate: 14336, Vocab: 32000, NumLocalExp: 8},
			2*32000*4096 + 32*(2*4096*4096+2*4096*8*128+8*3*4096*14336+4096*8)},
		// DeepSeek-V2-Lite: MLA without q_lora, first layer dense, 64 routed + 2 shared experts.
		{"mla", hfConfig{Layers: 27, Heads: 16, Hidden: 2048, Intermediate: 10944, Vocab: 102400, KVLoraRank: 512, QKRopeHeadDim: 64,
			QKNopeHeadDim: 128, VHeadDim: 128, NRouted: 64, SharedExperts: 2, MoEIntermediate: 1408, FirstKDense: 1},
			2*102400*2048 + 27*(2048*16*192+2048*576+512*16*256+16*128*2048) + 3*2048*10944 + 26*(66*3*2048*1408+2048*64)},
	} {
		if got := configParams(tc.c); got != tc.want {
			t.Errorf("%s: %.0f, want %.0f", tc.name, got, tc.want)
		}
	}
}

// TestLoadConfigJSONMoE reads Qwen3-30B-A3B's own config.json as a mounted
// cache holds it (testdata/Qwen3-30B-A3B/SOURCE says where it was copied
// from) and counts every expert: 30.5B parameters per the model card, where a
// dense reading of the same file gives 3.2B and a plan 10 times too small.
func TestLoadConfigJSONMoE(t *testing.T) {
	m, err := LoadConfigJSON("testdata/Qwen3-30B-A3B")
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != "moe" || m.Experts != 128 || m.ExpertFFN != 768 {
		t.Fatalf("kind %q, %d experts of %d, want moe, 128 of 768", m.Kind, m.Experts, m.ExpertFFN)
	}
	// Untied embeddings 2 × 151936 × 2048; per layer attention
	// 2·2048·32·128 + 2·2048·4·128, 128 experts of 3·2048·768 and a router 2048 × 128.
	want := (2*151936*2048 + 48*(2*2048*32*128+2*2048*4*128+128*3*2048*768+2048*128)) / 1e9
	if m.ParamsB != want {
		t.Errorf("%.4fB parameters, want %.4fB", m.ParamsB, want)
	}
	if d := math.Abs(m.ParamsB-30.5) / 30.5; d > 0.01 {
		t.Errorf("%.2fB parameters, the model card states 30.5B (%.1f %% off)", m.ParamsB, d*100)
	}
	if m.Source != "testdata/Qwen3-30B-A3B/config.json" {
		t.Errorf("source %q", m.Source)
	}
}

// Every MoE model of the catalog carries its expert facts, which the
// activation of the profile run (fused-MoE buffers) and the MXFP4 padding
// need: experts, experts per token and one expert's FFN.
func TestCatalogMoEFacts(t *testing.T) {
	n := 0
	for _, m := range Catalog() {
		if m.Kind != "moe" && m.Experts == 0 {
			continue
		}
		n++
		if m.Experts == 0 || m.ExpertsPerTok == 0 || m.ExpertFFN == 0 || m.ExpertsPerTok > m.Experts {
			t.Errorf("%s: experts %d, per token %d, expert FFN %d", m.ID, m.Experts, m.ExpertsPerTok, m.ExpertFFN)
		}
	}
	if n < 20 {
		t.Errorf("only %d MoE models in the catalog", n)
	}
}

// NVFP4 and FP8-block checkpoints name their base model and their method.
func TestQuantSuffixNVFP4AndFP8Block(t *testing.T) {
	for id, want := range map[string][2]string{
		"nvidia/Gemma-4-26B-A4B-NVFP4":       {"google/gemma-4-26B-A4B", "nvfp4"},
		"RedHatAI/gemma-4-31B-it-FP8-block":  {"google/gemma-4-31B-it", "fp8"},
		"RedHatAI/gemma-4-26B-A4B-it-NVFP4":  {"google/gemma-4-26B-A4B-it", "nvfp4"},
		"Qwen/Qwen3-235B-A22B-Instruct-2507": {"Qwen/Qwen3-235B-A22B-Instruct-2507", ""},
	} {
		m, ok := LookupModel(id)
		if !ok || m.ID != want[0] || m.CheckpointQ != want[1] {
			t.Errorf("%s: found %v as %q with checkpoint quantization %q; want %q, %q", id, ok, m.ID, m.CheckpointQ, want[0], want[1])
		}
	}
}
