package plan

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vllmctl/vllmctl/internal/vllm"
)

// VisionFamily is a kind of vision tower whose profile run the planner sizes.
type VisionFamily string

// Vision tower families.
const (
	// VisionQwen: Qwen2-VL, Qwen2.5-VL, Qwen3-VL, Qwen3.5 — a ViT over
	// patch_size patches (temporal_patch_size frames) of an image resized
	// to at most max_pixels, merged spatial_merge_size² to one embedding of
	// out_hidden_size.
	VisionQwen VisionFamily = "qwen"
	// VisionSigLIP: Gemma 3's SigLIP — one image_size² tile of
	// (image_size/patch_size)² patches, pooled to mm_tokens_per_image
	// embeddings and projected to the text width.
	VisionSigLIP VisionFamily = "siglip"
)

// VisionTower is what the memory profile needs of a vision tower.
type VisionTower struct {
	Family        VisionFamily `json:"family"`
	Layers        int          `json:"depth"`
	Hidden        int          `json:"hidden_size"`
	Intermediate  int          `json:"intermediate_size"`
	PatchSize     int          `json:"patch_size"`
	MergeSize     int          `json:"spatial_merge_size"`
	TemporalPatch int          `json:"temporal_patch_size"`
	OutHidden     int          `json:"out_hidden_size"`
	// Gated: a gate/up MLP (Qwen2.5-VL), else fc1/fc2 (Qwen2-VL, Qwen3-VL).
	Gated bool `json:"gated,omitempty"`
	// Deepstack is the number of deepstack_visual_indexes (Qwen3-VL): each
	// adds out_hidden_size to every embedding the encoder returns.
	Deepstack int `json:"-"`
	// MaxPixels is the image processor's default max_pixels (Qwen2/2.5-VL:
	// 12,845,056; Qwen3-VL's longest_edge 16,777,216).
	MaxPixels int `json:"-"`
	// Qwen3: Qwen3-VL or Qwen3.5 (deepstack_visual_indexes in the config),
	// whose video items vLLM profiled instead of images before 0.13.
	Qwen3 bool `json:"-"`
	// SigLIP: the tile's side in pixels and the embeddings per image.
	ImageSize      int `json:"image_size,omitempty"`
	TokensPerImage int `json:"mm_tokens_per_image,omitempty"`
}

// gemmaVision reads Gemma 3's SigLIP tower: a siglip_vision_model
// vision_config beside mm_tokens_per_image (Gemma 3's config; PaliGemma and
// Idefics use SigLIP with other processors and are not read). image_size and
// patch_size default to Gemma 3's 896 and 14.
func gemmaVision(vc map[string]any, tokensPerImage, textHidden int) (VisionTower, bool) {
	if mt, _ := vc["model_type"].(string); mt != "siglip_vision_model" || tokensPerImage <= 0 {
		return VisionTower{}, false
	}
	num := func(k string, def int) int {
		if f, ok := vc[k].(float64); ok && f > 0 {
			return int(f)
		}
		return def
	}
	v := VisionTower{Family: VisionSigLIP, Layers: num("num_hidden_layers", 27), Hidden: num("hidden_size", 1152),
		Intermediate: num("intermediate_size", 4304), PatchSize: num("patch_size", 14), ImageSize: num("image_size", 896),
		TokensPerImage: tokensPerImage, OutHidden: textHidden, MergeSize: 1, TemporalPatch: 1}
	return v, v.ImageSize >= v.PatchSize
}

// qwenVision reads a Qwen-VL vision_config; ok is false for other towers.
// Qwen2-VL writes the ViT width as embed_dim (hidden_size is then the text
// width it projects to) and the MLP as mlp_ratio.
func qwenVision(vc map[string]any, textHidden int, architectures []string) (VisionTower, bool) {
	// Other towers share these keys (GLM-4.xV's gated MLP runs over
	// out_hidden_size, ERNIE-4.5-VL writes embed_dim): only Qwen's are read.
	if mt, ok := vc["model_type"].(string); ok && !strings.HasPrefix(strings.ToLower(mt), "qwen") {
		return VisionTower{}, false
	}
	if len(architectures) > 0 && !strings.HasPrefix(architectures[0], "Qwen") {
		return VisionTower{}, false
	}
	num := func(k string) int {
		if f, ok := vc[k].(float64); ok {
			return int(f)
		}
		return 0
	}
	if num("spatial_merge_size") == 0 || num("patch_size") == 0 || num("depth") == 0 {
		return VisionTower{}, false
	}
	v := VisionTower{Family: VisionQwen, Layers: num("depth"), Hidden: num("hidden_size"), Intermediate: num("intermediate_size"),
		PatchSize: num("patch_size"), MergeSize: num("spatial_merge_size"), TemporalPatch: max(1, num("temporal_patch_size")),
		OutHidden: num("out_hidden_size"), MaxPixels: 12845056}
	if e := num("embed_dim"); e > 0 { // Qwen2-VL
		v.OutHidden, v.Hidden = v.Hidden, e
		if r, ok := vc["mlp_ratio"].(float64); ok && v.Intermediate == 0 {
			v.Intermediate = int(float64(e) * r)
		}
	}
	if v.OutHidden == 0 {
		v.OutHidden = textHidden
	}
	_, v.Gated = vc["fullatt_block_indexes"] // Qwen2.5-VL's windowed ViT has the gated MLP
	ds, hasDS := vc["deepstack_visual_indexes"].([]any)
	mt, _ := vc["model_type"].(string)
	if hasDS || strings.HasPrefix(mt, "qwen3") || v.PatchSize == 16 {
		// Qwen3-VL and Qwen3.5/3.6/3.8 (deepstack_visual_indexes, empty for
		// 3.5): their processor's longest_edge is 16,777,216 (4,096²).
		v.Deepstack, v.MaxPixels, v.Qwen3 = len(ds), 16777216, true
	}
	if v.Hidden == 0 || v.Intermediate == 0 {
		return VisionTower{}, false
	}
	return v, true
}

// Releases that changed what the ViT attention block of Qwen-VL towers
// allocates: PR #27106 ("Remove unnecessary .contiguous() calls", opened
// 2025-10-17, after 0.11.0) dropped the contiguous q, k, v copies; PR #29873
// ("Extract ApplyRotaryEmb as CustomOp", opened 2025-12-02) rotates without
// the float32 copies, and PR #30125 (MMEncoderAttention, approved
// 2025-12-15) brought contiguous copies back before its kernels. Their first
// releases are inferred from the dates (0.12.0 was out on 2025-12-03): the
// later release is taken for the float32 rotary, which over- rather than
// under-counts.
var (
	VisionNoContiguousSince = [3]int{0, 11, 1}
	VisionRotaryFusedSince  = [3]int{0, 14, 0}
)

// encoderProfile is what vLLM's profile run spends on the multimodal encoder
// (GpuModelRunner.profile_run since PR #11210): it runs the encoder on N
// dummy items of the largest size first, keeps their embeddings in the
// encoder cache while the text dummy run and the sampler warm-up run, and
// clears them after. So the profile's peak is the larger of the encoder's own
// peak and the text peak plus the held embeddings.
type encoderProfile struct {
	Modelled bool
	Skipped  string  // why no encoder runs in the profile (limit 0, --skip-mm-profiling)
	Why      string  // why a Qwen-VL tower's run is not sized (video profiled, sized dummy items)
	Items    int     // N
	Tokens   int     // tokens an item counts against the budget (vLLM's "maximum feature size")
	Embeds   int     // embeddings an item gives the text model
	Budget   int     // the encoder budget vLLM logs
	PeakGiB  float64 // the encoder forward's own peak
	HeldGiB  float64 // embeddings kept in the encoder cache during the text run
	Formula  string
}

// mmLimitsSized reads --limit-mm-per-prompt ('{"image": 2, "video": 0}',
// '{"image": {"count": 2}}' or 'image=2,video=0'); absent modalities and
// entries without a count keep vLLM's default limit (999). sized says an
// entry also sets the dummy item's size (width/height, 0.11+), which the
// planner does not follow.
func mmLimitsSized(a vllm.Args) (map[string]int, bool, bool) {
	sized := false
	v := flagValue(a, "limit-mm-per-prompt")
	if v == "" {
		return nil, false, false
	}
	var j map[string]any
	if json.Unmarshal([]byte(v), &j) == nil {
		out := map[string]int{}
		for k, x := range j {
			switch n := x.(type) {
			case float64:
				out[k] = int(n)
			case map[string]any: // {"image": {"count": 2, ...}} (0.11+)
				out[k] = 999 // vLLM's default count
				if c, ok := n["count"].(float64); ok {
					out[k] = int(c)
				}
				_, w := n["width"]
				_, h := n["height"]
				sized = sized || w || h
			default:
				out[k] = 999
			}
		}
		return out, true, sized
	}
	out, _ := mmPairs(v)
	return out, true, false
}

// mmPairs reads the modality=count form of --limit-mm-per-prompt; all says
// every entry was one (vLLM refuses the value otherwise).
func mmPairs(v string) (out map[string]int, all bool) {
	out, all = map[string]int{}, true
	for _, kv := range strings.Split(v, ",") {
		k, n, ok := strings.Cut(strings.TrimSpace(kv), "=")
		c, err := strconv.Atoi(strings.TrimSpace(n))
		if !ok || err != nil {
			all = false
			continue
		}
		out[strings.TrimSpace(k)] = c
	}
	return out, all
}

// mmProcessorKwargs reads --mm-processor-kwargs, which vLLM applies to the
// profile's dummy items too; nil when unset or not a JSON object.
func mmProcessorKwargs(a vllm.Args) map[string]any {
	var j map[string]any
	if json.Unmarshal([]byte(flagValue(a, "mm-processor-kwargs")), &j) != nil {
		return nil
	}
	return j
}

// maxPixelsOf reads an image processor's max_pixels (Qwen2/2.5-VL) or
// size.longest_edge (Qwen3-VL), from --mm-processor-kwargs or a snapshot's
// preprocessor_config.json; 0 when neither is there.
func maxPixelsOf(j map[string]any) int {
	if f, ok := j["max_pixels"].(float64); ok {
		return int(f)
	}
	if s, ok := j["size"].(map[string]any); ok {
		if f, ok := s["longest_edge"].(float64); ok {
			return int(f)
		}
	}
	return 0
}

// encoderPeakUnits is the ViT block's live tensors at its peak, in [S, C]
// units (S patches, C the ViT width), read from Qwen2_5_VisionAttention
// (Qwen3-VL's too): the block input and norm1's output (2), the qkv
// projection (3/tp), contiguous q, k, v copies (3/tp; none from
// VisionNoContiguousSince to VisionRotaryFusedSince), torch.cat([q, k])
// (2/tp) and the rotation: before VisionRotaryFusedSince
// apply_rotary_pos_emb_vision's float32 copy, float32 result and cast back
// (4 + 4 + 2, over tp), after it the rotated pair (2/tp). The MLP phase
// (input, attention output, residual and norm2's output, then gate/up and the
// activation over the intermediate size, or fc1 and the activation) is taken
// when higher.
func encoderPeakUnits(v VisionTower, tp int, release string) (float64, string) {
	t := float64(tp)
	if v.Family == VisionSigLIP {
		// SiglipEncoderLayer: the residual and layer_norm1's output, qkv
		// (3/tp, chunked into views), the attention output (1/tp) and
		// out_proj's (1); then the residual, layer_norm2's output, fc1 and
		// the GELU's out-of-place result (2 × intermediate/width, over tp).
		attn := 3 + 4/t
		r := float64(v.Intermediate) / float64(v.Hidden)
		if mlp := 2 + 2*r/t; mlp > attn {
			return mlp, fmt.Sprintf("MLP: residual and norm 2 + fc1 and GELU 2 × %d/%d ÷ TP %d", v.Intermediate, v.Hidden, tp)
		}
		return attn, fmt.Sprintf("attention: residual, norm and out_proj 3 + (qkv 3 + attention 1) ÷ TP %d", tp)
	}
	version, known := releaseTriple(release)
	if !known {
		version = [3]int{0, 11, 0} // the planner's rules for an unknown release
	}
	copies, rot, how := 3.0, 2.0, "q/k/v copies 3 + q/k concat 2 + rotated q/k 2"
	switch {
	case tripleLess(version, VisionNoContiguousSince):
		rot, how = 10, "q/k/v copies 3 + q/k concat 2 + float32 rotary copy, result and cast 4 + 4 + 2"
	case tripleLess(version, VisionRotaryFusedSince):
		copies, rot, how = 0, 10, "q/k concat 2 + float32 rotary copy, result and cast 4 + 4 + 2"
	}
	attn := 2 + (3+copies+2+rot)/t
	ratio := float64(v.Intermediate) / float64(v.Hidden)
	mlpMul, mlpHow := 2.0, "fc1 and activation"
	if v.Gated {
		mlpMul, mlpHow = 3, "gate/up and activation"
	}
	mlp := 4 + mlpMul*ratio/t
	if mlp > attn {
		return mlp, fmt.Sprintf("MLP: input, attention output, residual, norm 4 + %s %g × %d/%d ÷ TP %d", mlpHow, mlpMul, v.Intermediate, v.Hidden, tp)
	}
	return attn, fmt.Sprintf("attention: input and norm 2 + (qkv 3 + %s) ÷ TP %d", how, tp)
}

// EmbedsBudgetSince: from PR #30475 (December 2025; its first release is
// taken as 0.13) the encoder budget counts an item's embeddings, not its
// whole placeholder.
var EmbedsBudgetSince = [3]int{0, 13, 0}

// EncoderV1Since is the first release whose profile of a multimodal model is
// the V1 runner's alone: before 0.10 (which removed V0) many multimodal
// models still started on the V0 engine, whose profile gives each of
// max_num_seqs dummy sequences its own dummy image (vllm#16570's 0.8.3
// Qwen2.5-VL log is a V0 worker's); that path is not modelled.
var EncoderV1Since = [3]int{0, 10, 0}

// EncoderModelled says whether the planner sizes the profile's encoder run
// for this model on this release (a Qwen-VL tower or Gemma 3's SigLIP on the
// V1 runner; an
// unknown release takes 0.11.0's rules).
func EncoderModelled(m Model, release string) bool {
	if m.Vision == nil {
		return false
	}
	t, known := releaseTriple(release)
	return !known || !tripleLess(t, EncoderV1Since)
}

// TextOnly reports whether --limit-mm-per-prompt is 0 for every modality the
// multimodal model m takes, so vLLM profiles no encoder run; a modality left
// out keeps vLLM's default limit (Qwen-VL towers also take video).
func TextOnly(m Model, a vllm.Args) bool {
	if on, _ := flagOn(a, "language-model-only"); on && m.Multimodal {
		return true
	}
	limits, _, _ := mmLimitsSized(a)
	return textOnly(m, limits)
}

func textOnly(m Model, limits map[string]int) bool {
	if !m.Multimodal || len(limits) == 0 {
		return false
	}
	_, image := limits["image"]
	_, video := limits["video"]
	zero := image && (video || m.Vision == nil || m.Vision.Family != VisionQwen)
	for _, n := range limits {
		zero = zero && n == 0
	}
	return zero
}

// estimateEncoder sizes the profile's encoder run for a Qwen-VL tower or
// Gemma 3's SigLIP
// (vLLM's MultiModalBudget, PR #22228; the same defaults before it):
// T = embeddings of the largest image, budget = max(max_num_batched_tokens, T),
// N = max(1, min(budget ÷ T, max_num_seqs × max(1, min(limit, max_model_len ÷ T)))).
func estimateEncoder(m Model, a vllm.Args, batched, seqs, maxModelLen, tp int, release string) encoderProfile {
	var e encoderProfile
	if !m.Multimodal {
		return e
	}
	limits, _, sized := mmLimitsSized(a)
	if on, _ := flagOn(a, "language-model-only"); on {
		e.Skipped = "--language-model-only: no multimodal input, the encoder is not profiled"
		return e
	}
	if textOnly(m, limits) {
		e.Skipped = "--limit-mm-per-prompt is 0 for every modality: text-only, the encoder is not profiled"
		return e
	}
	if a.IsSet("skip-mm-profiling") {
		e.Skipped = "--skip-mm-profiling: the encoder is not profiled (its real first batch can need what the profile did not reserve)"
		return e
	}
	v := m.Vision
	if !EncoderModelled(m, release) {
		return e
	}
	if n, ok := limits["image"]; ok && n == 0 {
		e.Why = "--limit-mm-per-prompt allows no image: another modality is profiled, which the planner does not size"
		return e
	}
	if n := limits["video"]; n > 0 {
		e.Why = "--limit-mm-per-prompt allows video, whose dummy item (sized from max_model_len) vLLM may profile instead of an image: not sized"
		return e
	}
	if sized {
		e.Why = "--limit-mm-per-prompt sets the dummy item's width/height: not sized"
		return e
	}
	if n, ok := limits["video"]; v.Qwen3 && !(ok && n == 0) {
		if t, known := releaseTriple(release); known && tripleLess(t, EmbedsBudgetSince) {
			// A 0.11.0 Qwen3-VL-30B-A3B log with default limits (sipeed_wiki,
			// NanoKVM_Pro/cua.md): "budget of 153600 tokens, and profiled with
			// 1 video items"; vllm#27992.
			e.Why = fmt.Sprintf("before %d.%d vLLM profiles a Qwen3-VL video item (a budget of up to 153,600 tokens) unless --limit-mm-per-prompt sets video to 0: not sized", EmbedsBudgetSince[0], EmbedsBudgetSince[1])
			return e
		}
	}
	kwargs := mmProcessorKwargs(a)
	embeds := 0 // embeddings an item gives the text model
	switch v.Family {
	case VisionSigLIP:
		if kwargs["do_pan_and_scan"] == true {
			e.Why = "--mm-processor-kwargs sets pan-and-scan, whose crops multiply an image's tiles: not sized"
			return e
		}
		// The budget counts an image's placeholder, "\n\n<start_of_image>",
		// the soft tokens and "<end_of_image>\n\n" (a v0.11.0rc2 log,
		// TaintsAndTokenizersInc/vllm_multimodal_rocm_examples: 8,192 tokens
		// profile 31 images, so 258–264 per image), the embeddings alone
		// from PR #30475.
		embeds, e.Tokens = v.TokensPerImage, v.TokensPerImage+4
		if t, known := releaseTriple(release); known && !tripleLess(t, EmbedsBudgetSince) {
			e.Tokens = v.TokensPerImage
		}
	default:
		factor := v.PatchSize * v.MergeSize
		px := v.MaxPixels
		if p := maxPixelsOf(kwargs); p > 0 {
			px = p
		}
		side := int(math.Sqrt(float64(px))) / factor
		if side < 1 {
			e.Why = fmt.Sprintf("max_pixels %d is below one merged patch (%d²): not sized", px, factor)
			return e
		}
		e.Tokens = side * side
		embeds = e.Tokens
		if n, ok := limits["video"]; !v.Qwen3 && !(ok && n == 0) && maxModelLen-e.Tokens > e.Tokens {
			// Qwen2/2.5-VL take video by default, and vLLM profiles the
			// modality of the largest item: a video sized to what
			// max_model_len leaves beside one image. A 0.23.0 Qwen2.5-VL-7B
			// log at max_model_len 128,000: "budget of 114688 tokens, and
			// profiled with 1 video items", −14.28 GiB of KV at 0.22.
			e.Why = fmt.Sprintf("vLLM profiles a video item of up to about %s tokens (max_model_len − one image) rather than an image of %s, a run the planner does not size (a 0.23 Qwen2.5-VL-7B log: with a 114,688-token video the profile peaked about 16 GiB above the weights); --limit-mm-per-prompt '{\"video\": 0}' or a smaller --max-model-len avoids it",
				vllm.Commas(maxModelLen-e.Tokens), vllm.Commas(e.Tokens))
			return e
		}
	}
	e.Embeds = embeds
	e.Budget = max(batched, e.Tokens)
	limit := 999
	if n, ok := limits["image"]; ok && n > 0 {
		limit = n
	}
	perPrompt := max(1, min(limit, maxModelLen/e.Tokens))
	e.Items = max(1, min(e.Budget/e.Tokens, seqs*perPrompt))
	var patches, pixels float64 // through the tower; float32 pixel_values on the GPU
	if v.Family == VisionSigLIP {
		side := float64(v.ImageSize / v.PatchSize)
		patches = float64(e.Items) * side * side
		pixels = float64(e.Items) * 3 * float64(v.ImageSize*v.ImageSize) * 4
	} else {
		patches = float64(e.Items * e.Tokens * v.MergeSize * v.MergeSize)
		pixels = patches * float64(3*v.TemporalPatch*v.PatchSize*v.PatchSize) * 4
	}
	vtp := tp
	// A whole tower on every rank, where the model supports it (Qwen-VL's
	// supports_encoder_tp_data; Gemma 3's SigLIP stays split).
	if flagValue(a, "mm-encoder-tp-mode") == "data" && v.Family == VisionQwen {
		vtp = 1
	}
	units, how := encoderPeakUnits(*v, vtp, release)
	e.PeakGiB = (patches*float64(v.Hidden)*2*units + pixels) / gib
	e.HeldGiB = float64(e.Items*embeds) * float64(v.OutHidden*(1+v.Deepstack)) * 2 / gib
	e.Modelled = true
	e.Formula = fmt.Sprintf("vision encoder on %d image(s) of %s embeddings (budget %s): %s patches × ViT width %d × 2 B × %.1f (%s) + float32 pixels %.2f GiB",
		e.Items, vllm.Commas(embeds), vllm.Commas(e.Budget), vllm.Commas(int(patches)), v.Hidden, units, how, pixels/gib)
	return e
}
