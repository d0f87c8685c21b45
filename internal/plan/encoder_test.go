package plan

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// The profile's encoder budget and item count as vLLM logs them
// ("Encoder cache will be initialized with a budget of B tokens, and profiled
// with N image items") in public logs: Ray Data's v0.11.0 Qwen2.5-VL-3B run,
// an April 2026 Qwen3-VL-8B run with max_pixels 1,003,520, and a v0.17.1
// Qwen3.5-9B compose log.
func TestEncoderBudgetAndItems(t *testing.T) {
	for _, tc := range []struct {
		model                 string
		argv                  []string
		batched, seqs, mml    int
		release               string
		tokens, budget, items int
		modelled              bool
		skipped               string
	}{
		{"Qwen/Qwen2.5-VL-3B-Instruct", nil, 2048, 256, 8192, "0.11.0", 16384, 16384, 1, true, ""},
		{"Qwen/Qwen3-VL-8B-Instruct", []string{`--limit-mm-per-prompt={"image": 1}`, `--mm-processor-kwargs={"min_pixels": 784, "max_pixels": 1003520}`}, 8192, 5, 4096, "0.19.0", 961, 8192, 5, true, ""},
		{"Qwen/Qwen3.5-9B", nil, 4096, 4, 16384, "0.17.1", 16384, 16384, 1, true, ""},
		// Small images fill the budget: 8,192 ÷ 961 = 8 items when 16 sequences may each hold one.
		{"Qwen/Qwen3-VL-8B-Instruct", []string{`--mm-processor-kwargs={"max_pixels": 1003520}`}, 8192, 16, 4096, "0.19.0", 961, 8192, 8, true, ""},
		{"Qwen/Qwen2.5-VL-7B-Instruct", []string{"--limit-mm-per-prompt=image=0,video=0"}, 8192, 256, 32768, "0.11.0", 0, 0, 0, false, "text-only"},
		{"Qwen/Qwen2.5-VL-7B-Instruct", []string{"--skip-mm-profiling"}, 8192, 256, 32768, "0.11.0", 0, 0, 0, false, "--skip-mm-profiling"},
		{"Qwen/Qwen2.5-VL-72B-Instruct", nil, 8192, 256, 32768, "0.8.3", 0, 0, 0, false, ""}, // V0-era release
		// Gemma 3's SigLIP: an image counts its 260-token placeholder until
		// 0.13 (a v0.11.0rc2 log: "budget of 8192 tokens, and profiled with
		// 31 image items" at --limit-mm-per-prompt image 2), its 256
		// embeddings after; MedGemma-4b (Gemma 3) at 2,048 batched tokens and
		// 8 sequences: 7 images.
		{"google/gemma-3-27b-it", []string{`--limit-mm-per-prompt={"image": 2}`}, 8192, 1024, 4096, "0.11.0", 260, 8192, 31, true, ""},
		{"google/gemma-3-4b-it", nil, 2048, 8, 4096, "0.11.0", 260, 2048, 7, true, ""},
		{"google/gemma-3-27b-it", nil, 8192, 256, 32768, "0.13.0", 256, 8192, 32, true, ""},
		{"google/gemma-3-27b-it", []string{`--mm-processor-kwargs={"do_pan_and_scan": true}`}, 8192, 256, 32768, "0.13.0", 0, 0, 0, false, ""},
		{"google/gemma-4-31B-it", nil, 8192, 256, 32768, "0.20.0", 0, 0, 0, false, ""}, // Gemma 4's tower: not modelled
	} {
		e := estimateEncoder(model(t, tc.model), vllm.Parse(tc.argv), tc.batched, tc.seqs, tc.mml, 1, tc.release)
		if e.Modelled != tc.modelled || e.Tokens != tc.tokens || e.Budget != tc.budget || e.Items != tc.items {
			t.Errorf("%s %v: modelled %v, %d tokens, budget %d, %d items; want %v, %d, %d, %d",
				tc.model, tc.argv, e.Modelled, e.Tokens, e.Budget, e.Items, tc.modelled, tc.tokens, tc.budget, tc.items)
		}
		if !strings.Contains(e.Skipped, tc.skipped) || (tc.skipped == "") != (e.Skipped == "") {
			t.Errorf("%s %v: skipped %q, want %q", tc.model, tc.argv, e.Skipped, tc.skipped)
		}
	}
}

// The ViT block's peak in [patches, width] units follows the release's
// attention code: contiguous q/k/v copies until 0.11.1, float32 rotary
// copies until 0.14; the MLP phase for TP 2 on a gated tower stays below.
func TestEncoderPeakUnits(t *testing.T) {
	q25 := *model(t, "Qwen/Qwen2.5-VL-7B-Instruct").Vision
	q3 := *model(t, "Qwen/Qwen3-VL-8B-Instruct").Vision
	sig := *model(t, "google/gemma-3-27b-it").Vision
	if sig.Family != VisionSigLIP || sig.ImageSize != 896 || sig.TokensPerImage != 256 || sig.OutHidden != 5376 {
		t.Fatalf("Gemma 3 tower: %+v", sig)
	}
	if !q25.Gated || q3.Gated || q3.Deepstack != 3 || q25.OutHidden != 3584 || q3.MaxPixels != 16777216 {
		t.Fatalf("towers: %+v %+v", q25, q3)
	}
	for _, tc := range []struct {
		v       VisionTower
		tp      int
		release string
		want    float64
	}{
		{q25, 1, "0.11.0", 20},
		{q25, 1, "0.11.1", 17},
		{q25, 1, "0.13.0", 17},
		{q25, 1, "0.14.0", 4 + 3*3420.0/1280}, // the gated MLP phase, above attention (12)
		{q3, 1, "0.17.1", 12},
		{q25, 2, "0.11.0", 11},
		{q25, 1, "latest", 20}, // unknown release: 0.11.0's rules
		{sig, 1, "0.11.0", 2 + 2*4304.0/1152},
		{sig, 2, "0.11.0", 2 + 4304.0/1152},
	} {
		if got, how := encoderPeakUnits(tc.v, tc.tp, tc.release); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("TP %d at %s: %.2f units (%s), want %.2f", tc.tp, tc.release, got, how, tc.want)
		}
	}
}

// Ray Data's example (v0.11.0, Qwen2.5-VL-3B on an L4 at the default 0.9,
// 2,048 batched tokens): "Model loading took 7.1550 GiB", "Available KV
// cache memory: 9.26 GiB". The encoder's run on one 16,384-embedding image
// is the profile's peak; without it the plan would be over 2.5 GiB high.
func TestEncoderProfileRayRow(t *testing.T) {
	m := model(t, "Qwen/Qwen2.5-VL-3B-Instruct")
	g, _ := gpu.Declare("L4", "", 1)
	r := Estimate(Input{Model: m, Args: vllm.Parse([]string{"--max-model-len=8192", "--max-num-batched-tokens=2048"}), GPUs: g, Version: "0.11.0"})
	if math.Abs(r.KVAvailGiB-9.26) > 0.5 {
		t.Errorf("available KV %.2f GiB, vLLM 9.26", r.KVAvailGiB)
	}
	var act string
	for _, l := range r.Explain {
		if l.Name == "activation peak" {
			act = l.Formula
		}
	}
	if !strings.Contains(act, "vision encoder on 1 image(s) of 16,384 embeddings") || !strings.Contains(act, "above the text run") {
		t.Errorf("activation formula %q", act)
	}
	text := Estimate(Input{Model: m, Args: vllm.Parse([]string{"--max-model-len=8192", "--max-num-batched-tokens=2048", "--skip-mm-profiling"}), GPUs: g, Version: "0.11.0"})
	if text.KVAvailGiB-9.26 < 2.5 {
		t.Errorf("without the encoder run: %.2f GiB, want over 2.5 GiB above vLLM's 9.26", text.KVAvailGiB)
	}
}

// vision_config as configs write it: Qwen2-VL's embed_dim/mlp_ratio (its
// hidden_size is the text width it projects to), and towers of other families
// with the same keys, which are not read as Qwen's.
func TestQwenVisionConfig(t *testing.T) {
	q2 := map[string]any{"depth": 32.0, "embed_dim": 1280.0, "hidden_size": 3584.0, "mlp_ratio": 4.0, "num_heads": 16.0,
		"patch_size": 14.0, "spatial_merge_size": 2.0, "temporal_patch_size": 2.0}
	v, ok := qwenVision(q2, 3584, []string{"Qwen2VLForConditionalGeneration"})
	if !ok || v.Hidden != 1280 || v.Intermediate != 5120 || v.OutHidden != 3584 || v.Gated || v.MaxPixels != 12845056 {
		t.Errorf("Qwen2-VL: %+v %v", v, ok)
	}
	glm := map[string]any{"model_type": "glm4v", "depth": 24.0, "hidden_size": 1536.0, "intermediate_size": 13696.0,
		"patch_size": 14.0, "spatial_merge_size": 2.0, "temporal_patch_size": 2.0, "out_hidden_size": 4096.0}
	if _, ok := qwenVision(glm, 4096, nil); ok {
		t.Error("a GLM-4V tower read as Qwen's")
	}
	if _, ok := qwenVision(q2, 3584, []string{"Ernie4_5_VLMoeForConditionalGeneration"}); ok {
		t.Error("an ERNIE-4.5-VL tower read as Qwen's")
	}
}

// --limit-mm-per-prompt in its three spellings; an entry without a count
// keeps vLLM's default (999); video or a sized dummy item is named, not sized.
func TestEncoderLimits(t *testing.T) {
	for _, tc := range []struct {
		flag  string
		image int
		sized bool
	}{
		{"image=2,video=0", 2, false},
		{`{"image": 2}`, 2, false},
		{`{"image": {"count": 3}}`, 3, false},
		{`{"image": {"width": 512, "height": 512}}`, 999, true},
	} {
		l, set, sized := mmLimitsSized(vllm.Parse([]string{"--limit-mm-per-prompt=" + tc.flag}))
		if !set || l["image"] != tc.image || sized != tc.sized {
			t.Errorf("%s: %v %v %v", tc.flag, l, set, sized)
		}
	}
	m := model(t, "Qwen/Qwen2.5-VL-7B-Instruct")
	for _, tc := range []struct{ flag, why string }{
		{`{"image": 1, "video": 1}`, "allows video"},
		{`{"image": {"count": 1, "width": 448, "height": 448}}`, "width/height"},
		{`{"image": 0, "video": {"count": 1}}`, "allows no image"},
	} {
		e := estimateEncoder(m, vllm.Parse([]string{"--limit-mm-per-prompt=" + tc.flag}), 8192, 256, 32768, 1, "0.11.0")
		if e.Modelled || !strings.Contains(e.Why, tc.why) {
			t.Errorf("%s: modelled %v, why %q", tc.flag, e.Modelled, e.Why)
		}
	}
	// A whole tower on each rank: the ViT peak is not divided by TP.
	tp := estimateEncoder(m, vllm.Parse(nil), 8192, 256, 32768, 2, "0.11.0")
	data := estimateEncoder(m, vllm.Parse([]string{"--mm-encoder-tp-mode=data"}), 8192, 256, 32768, 2, "0.11.0")
	if !(data.PeakGiB > tp.PeakGiB) || !strings.Contains(data.Formula, "÷ TP 1") {
		t.Errorf("data mode %.2f GiB (%s) against TP %.2f GiB", data.PeakGiB, data.Formula, tp.PeakGiB)
	}
}

// Gemma 3's SigLIP stays split over TP whatever --mm-encoder-tp-mode says
// (only Qwen-VL supports data mode), and an explicit pan-and-scan off is the
// default, sized as such.
func TestEncoderGemma3Flags(t *testing.T) {
	m := model(t, "google/gemma-3-27b-it")
	tp := estimateEncoder(m, vllm.Parse(nil), 8192, 256, 32768, 2, "0.11.0")
	data := estimateEncoder(m, vllm.Parse([]string{"--mm-encoder-tp-mode=data"}), 8192, 256, 32768, 2, "0.11.0")
	if !tp.Modelled || data.PeakGiB != tp.PeakGiB || !strings.Contains(data.Formula, "÷ TP 2") {
		t.Errorf("data mode %.2f GiB (%s), TP %.2f GiB", data.PeakGiB, data.Formula, tp.PeakGiB)
	}
	off := estimateEncoder(m, vllm.Parse([]string{`--mm-processor-kwargs={"do_pan_and_scan": false}`}), 8192, 256, 32768, 1, "0.11.0")
	if !off.Modelled || off.Items != 31 {
		t.Errorf("pan-and-scan off: modelled %v, %d items (%s)", off.Modelled, off.Items, off.Why)
	}
}

// A mounted Hugging Face snapshot's preprocessor_config.json sets the dummy
// image's size (max_pixels, or Qwen3-VL's size.longest_edge).
func TestEncoderPreprocessorConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := `{"architectures": ["Qwen2_5_VLForConditionalGeneration"], "num_hidden_layers": 36, "num_attention_heads": 16,
	  "num_key_value_heads": 2, "hidden_size": 2048, "intermediate_size": 11008, "vocab_size": 151936,
	  "max_position_embeddings": 128000, "tie_word_embeddings": true,
	  "vision_config": {"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16, "patch_size": 14,
	    "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 112, "fullatt_block_indexes": [7, 15, 23, 31], "out_hidden_size": 2048}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadConfigJSON(dir)
	if err != nil || m.Vision == nil || m.Vision.MaxPixels != 12845056 {
		t.Fatalf("without a preprocessor config: %+v %v", m.Vision, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "preprocessor_config.json"), []byte(`{"max_pixels": 1003520, "min_pixels": 3136}`), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err = LoadConfigJSON(dir)
	if err != nil || m.Vision.MaxPixels != 1003520 {
		t.Fatalf("with max_pixels 1,003,520: %+v %v", m.Vision, err)
	}
	if e := estimateEncoder(m, vllm.Parse(nil), 2048, 256, 8192, 1, "0.11.0"); e.Tokens != 1225 {
		t.Errorf("%d embeddings per image, want 35² = 1,225", e.Tokens)
	}
}

// Qwen3-VL before 0.13 profiled a video item with default limits (a 0.11.0
// Qwen3-VL-30B-A3B log: "budget of 153600 tokens, and profiled with 1 video
// items"): named, not sized, unless video is limited to 0; from 0.13 an
// image (a 0.13.0 Qwen3-VL MoE log and a 0.17.1 Qwen3.5 log: budget 16384,
// 1 image).
func TestEncoderQwen3Video(t *testing.T) {
	m := model(t, "Qwen/Qwen3-VL-30B-A3B-Instruct")
	old := estimateEncoder(m, vllm.Parse(nil), 2048, 256, 65536, 4, "0.11.0")
	if old.Modelled || !strings.Contains(old.Why, "video") {
		t.Errorf("0.11.0, default limits: modelled %v, why %q", old.Modelled, old.Why)
	}
	noVideo := estimateEncoder(m, vllm.Parse([]string{`--limit-mm-per-prompt={"video": 0}`}), 2048, 256, 65536, 4, "0.11.0")
	if !noVideo.Modelled || noVideo.Budget != 16384 {
		t.Errorf("0.11.0, video 0: modelled %v, budget %d (%s)", noVideo.Modelled, noVideo.Budget, noVideo.Why)
	}
	newer := estimateEncoder(m, vllm.Parse(nil), 2048, 256, 65536, 1, "0.13.0")
	if !newer.Modelled || newer.Budget != 16384 || newer.Items != 1 {
		t.Errorf("0.13.0: modelled %v, budget %d, %d items", newer.Modelled, newer.Budget, newer.Items)
	}
}

// A multimodal flag vLLM cannot parse is named in the plan's notes with what
// the plan took instead; readable forms add no note.
func TestUnreadableMMFlagsNoted(t *testing.T) {
	m := model(t, "Qwen/Qwen2.5-VL-3B-Instruct")
	g, _ := gpu.Declare("L4", "", 1)
	cases := []struct {
		argv []string
		want []string
	}{
		{[]string{`--limit-mm-per-prompt={image: 2}`}, []string{`--limit-mm-per-prompt "{image: 2}" is neither a JSON object nor modality=count pairs`}},
		{[]string{`--mm-processor-kwargs={max_pixels: 100}`}, []string{`--mm-processor-kwargs "{max_pixels: 100}" is not a JSON object`}},
		{[]string{`--limit-mm-per-prompt={"image": 2}`, `--mm-processor-kwargs={"max_pixels": 1003520}`}, nil},
		{[]string{`--limit-mm-per-prompt=image=2,video=0`}, nil},
	}
	for _, c := range cases {
		r := Estimate(Input{Model: m, Args: vllm.Parse(append([]string{"--model=" + m.ID, "--max-model-len=8192"}, c.argv...)), GPUs: g, Version: "0.11.0"})
		var got []string
		for _, n := range r.Notes {
			if strings.Contains(n, "vLLM refuses it at startup") {
				got = append(got, n)
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("%v: notes %q, want %d about unreadable flags", c.argv, got, len(c.want))
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%v: note %q lacks %q", c.argv, got[i], w)
			}
		}
	}
}

// Qwen2.5-VL takes video by default, and vLLM profiles a video item when
// max_model_len leaves room for one larger than an image (a 0.23.0 log at
// max_model_len 128,000: "budget of 114688 tokens, and profiled with 1 video
// items", KV −14.28 GiB): not sized, said so; video 0 or a short context
// keeps the image run the planner sizes.
func TestEncoderQwen25Video(t *testing.T) {
	m := model(t, "Qwen/Qwen2.5-VL-7B-Instruct")
	long := estimateEncoder(m, vllm.Parse(nil), 8192, 256, 128000, 1, "0.23.0")
	if long.Modelled || !strings.Contains(long.Why, "video item of up to about 111,616 tokens") {
		t.Errorf("128,000 tokens, default limits: modelled %v, why %q", long.Modelled, long.Why)
	}
	noVideo := estimateEncoder(m, vllm.Parse([]string{`--limit-mm-per-prompt={"video": 0}`}), 8192, 256, 128000, 1, "0.23.0")
	short := estimateEncoder(m, vllm.Parse(nil), 8192, 256, 8192, 1, "0.23.0")
	for name, e := range map[string]encoderProfile{"video 0": noVideo, "max_model_len 8192": short} {
		if !e.Modelled || e.Tokens != 16384 {
			t.Errorf("%s: modelled %v, %d tokens per image (%s)", name, e.Modelled, e.Tokens, e.Why)
		}
	}
}

// --language-model-only serves text alone: no encoder run in the profile
// (a public compose file's plan still counted it).
func TestEncoderLanguageModelOnly(t *testing.T) {
	m := model(t, "Qwen/Qwen2.5-VL-7B-Instruct")
	e := estimateEncoder(m, vllm.Parse([]string{"--language-model-only"}), 8192, 256, 32768, 1, "0.26.0")
	if e.Modelled || !strings.Contains(e.Skipped, "--language-model-only") || !TextOnly(m, vllm.Parse([]string{"--language-model-only"})) {
		t.Errorf("modelled %v, skipped %q", e.Modelled, e.Skipped)
	}
	if with := estimateEncoder(m, vllm.Parse(nil), 8192, 256, 32768, 1, "0.26.0"); !with.Modelled {
		t.Errorf("without the flag the image run is sized: %q", with.Why)
	}
}
