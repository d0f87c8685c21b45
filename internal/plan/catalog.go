package plan

import (
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Model holds the architecture numbers the estimator needs. The fields after
// Source describe layer kinds beyond full attention; they are empty for dense
// full-attention models.
type Model struct {
	ID           string  `json:"id"`
	Layers       int     `json:"num_hidden_layers"`
	Heads        int     `json:"num_attention_heads"`
	KVHeads      int     `json:"num_key_value_heads"`
	HeadDim      int     `json:"head_dim"`
	Hidden       int     `json:"hidden_size"`
	Intermediate int     `json:"intermediate_size"`
	Vocab        int     `json:"vocab_size"`
	MaxPositions int     `json:"max_position_embeddings"`
	ParamsB      float64 `json:"params_billion"`
	Tie          bool    `json:"tie_word_embeddings"`
	Kind         string  `json:"kind"`                   // dense, moe, sliding, hybrid, mla, multimodal
	WeightBytes  int64   `json:"weight_bytes,omitempty"` // exact checkpoint size when known (safetensors)
	CheckpointQ  string  `json:"checkpoint_quantization,omitempty"`
	Source       string  `json:"source"` // catalog, config.json path

	// LayerTypes gives each decoder layer's kind when they differ or are not
	// full attention (layer_types, hybrid_override_pattern, full_attention_interval,
	// sliding_window_pattern of config.json).
	LayerTypes    []LayerKind `json:"layer_types,omitempty"`
	SlidingWindow int         `json:"sliding_window,omitempty"`
	// AttentionChunk is Llama 4's attention_chunk_size: its RoPE layers
	// attend within chunks of this many tokens (vLLM's ChunkedLocalAttention).
	AttentionChunk int `json:"attention_chunk_size,omitempty"`
	// Gemma 4: full-attention layers have their own head size and KV head
	// count (global_head_dim; num_global_key_value_heads when
	// attention_k_eq_v, else num_key_value_heads), as vLLM's gemma4.py builds
	// them; 0 when full layers are like the others.
	GlobalHeadDim int `json:"global_head_dim,omitempty"`
	GlobalKVHeads int `json:"num_global_key_value_heads,omitempty"`
	// KVSharedLayers are the last num_kv_shared_layers layers (Gemma 3n,
	// Gemma 4): they read the KV of the last earlier layer of their type and
	// own no cache (vLLM's kv_sharing_target_layer_name).
	KVSharedLayers int `json:"num_kv_shared_layers,omitempty"`
	KVLoraRank     int `json:"kv_lora_rank,omitempty"`     // MLA
	QKRopeHeadDim  int `json:"qk_rope_head_dim,omitempty"` // MLA
	// Gated DeltaNet (linear attention) state.
	LinearKHeads     int `json:"linear_num_key_heads,omitempty"`
	LinearVHeads     int `json:"linear_num_value_heads,omitempty"`
	LinearKHeadDim   int `json:"linear_key_head_dim,omitempty"`
	LinearVHeadDim   int `json:"linear_value_head_dim,omitempty"`
	LinearConvKernel int `json:"linear_conv_kernel_dim,omitempty"`
	// Kimi Delta Attention (KDA, Kimi Linear) state: linear_attn_config's
	// num_heads, head_dim and short_conv_kernel_size.
	KDAHeads      int `json:"kda_num_heads,omitempty"`
	KDAHeadDim    int `json:"kda_head_dim,omitempty"`
	KDAConvKernel int `json:"kda_conv_kernel,omitempty"`
	// Mamba2 state.
	MambaHeads        int `json:"mamba_num_heads,omitempty"`
	MambaHeadDim      int `json:"mamba_head_dim,omitempty"`
	SSMStateSize      int `json:"ssm_state_size,omitempty"`
	MambaGroups       int `json:"n_groups,omitempty"`
	MambaConvKernel   int `json:"conv_kernel,omitempty"`
	MambaIntermediate int `json:"mamba_intermediate_size,omitempty"`
	// SSMDType is the recurrent state's dtype when the config fixes it
	// (Qwen3.5 mamba_ssm_dtype "float32"); "" means the model dtype.
	SSMDType string `json:"mamba_ssm_dtype,omitempty"`
	// MoE: experts are all resident.
	Experts       int `json:"num_experts,omitempty"`
	ExpertsPerTok int `json:"num_experts_per_tok,omitempty"`
	// ExpertFFN is one routed expert's intermediate size (moe_intermediate_size,
	// else intermediate_size), for checkpoints that quantize experts only.
	ExpertFFN int `json:"-"`
	// ExpertQuantBits are the stored bits per routed-expert weight of a
	// checkpoint that quantizes the routed experts only (values and one
	// 16-bit scale per group), the rest staying 16-bit; 0 when not known.
	ExpertQuantBits float64 `json:"-"`
	// CTScheme is what a compressed-tensors checkpoint stores, read from its
	// quantization_config.config_groups (weights type and num_bits) in the
	// planner's QuantBits vocabulary: "nvfp4", "gptq" (int4 W4A16), "fp8"
	// (8-bit float or int); "" when not read.
	CTScheme string `json:"-"`
	// MoELayers is the number of layers with routed experts
	// (num_hidden_layers − first_k_dense_replace).
	MoELayers int `json:"-"`
	// MTPLayers are the multi-token-prediction layers (num_nextn_predict_layers,
	// mtp_num_hidden_layers) vLLM loads with --speculative-config method mtp.
	MTPLayers int `json:"mtp_layers,omitempty"`
	// VisionParamsB is the vision/audio tower's share of ParamsB, when known.
	VisionParamsB float64 `json:"vision_params_billion,omitempty"`
	Multimodal    bool    `json:"multimodal,omitempty"`
	// Vision is a vision tower whose profile run the planner sizes (Qwen-VL,
	// Gemma 3's SigLIP), read from vision_config; nil for other towers.
	Vision *VisionTower `json:"vision,omitempty"`
}

//go:embed catalog.csv
var catalogCSV string

var catalog = sync.OnceValue(func() []Model {
	var lines []string
	for _, l := range strings.Split(catalogCSV, "\n") {
		if !strings.HasPrefix(l, "#") && strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(strings.Join(lines, "\n"))).ReadAll()
	if err != nil {
		panic("plan: embedded catalog: " + err.Error())
	}
	var out []Model
	for _, r := range rows[1:] {
		atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
		pb, _ := strconv.ParseFloat(r[10], 64)
		m := Model{ID: r[0], Layers: atoi(r[2]), Heads: atoi(r[3]), KVHeads: atoi(r[4]), HeadDim: atoi(r[5]),
			Hidden: atoi(r[6]), Intermediate: atoi(r[7]), Vocab: atoi(r[8]), MaxPositions: atoi(r[9]),
			ParamsB: pb, Tie: r[11] == "true", Kind: r[12], Source: "catalog: " + r[13], Multimodal: r[12] == "multimodal"}
		if e := atoi(r[14]); e > 0 { // every layer routes: the MoE rows of this table have no dense layers
			m.Experts, m.ExpertsPerTok, m.ExpertFFN, m.MoELayers = e, atoi(r[15]), atoi(r[16]), m.Layers
		}
		out = append(out, m)
		for _, a := range strings.Split(r[1], ";") {
			if a != "" {
				alias := m
				alias.ID = a
				out = append(out, alias)
			}
		}
	}
	return append(out, jsonCatalog()...)
})

// Catalog returns the embedded model table.
func Catalog() []Model { return append([]Model(nil), catalog()...) }

// quantSuffix strips checkpoint-quantization suffixes from a repo name and
// names the method they imply.
var quantSuffix = regexp.MustCompile(`(?i)(?:[-_]quantized\.|[-_])(awq|gptq(?:[-_]int[48])?|int4|int8|fp8(?:[-_]dynamic|[-_]block)?|nvfp4|(?:unsloth[-_])?bnb[-_]4bit|4bit|8bit|w4a16|w8a8|bf16)$`)

// CheckpointQuant names the quantization a model name implies ("awq", "gptq",
// "fp8", "bitsandbytes"), or "".
func CheckpointQuant(model string) string {
	name := model[strings.LastIndex(model, "/")+1:]
	// A bare "-4bit" is bitsandbytes unless a method precedes it
	// ("…-AWQ-4bit": an AWQ checkpoint of 4 bits).
	fallback := ""
	for {
		m := quantSuffix.FindStringSubmatch(name)
		if m == nil {
			return fallback
		}
		s := strings.ToLower(m[1])
		switch {
		case strings.HasPrefix(s, "awq"):
			return "awq"
		case strings.HasPrefix(s, "gptq"), s == "int4", s == "int8", s == "w4a16":
			return "gptq"
		case strings.HasPrefix(s, "fp8"), s == "w8a8":
			return "fp8"
		case s == "nvfp4":
			return "nvfp4"
		case strings.Contains(s, "bnb"):
			return "bitsandbytes"
		case s == "4bit" && fallback == "":
			fallback = "bitsandbytes"
		}
		name = strings.TrimSuffix(name, m[0])
	}
}

// LookupModel finds a model in the catalog by repo id, ignoring case and
// checkpoint-quantization suffixes ("Qwen/Qwen3-32B-AWQ" → Qwen/Qwen3-32B).
// Repackaged copies under another owner match by name alone.
func LookupModel(id string) (Model, bool) {
	base := strings.TrimSuffix(strings.TrimSpace(id), "/")
	for {
		for _, m := range catalog() {
			if strings.EqualFold(m.ID, base) {
				m.CheckpointQ = firstNonEmpty(CheckpointQuant(id), m.CheckpointQ)
				return m, true
			}
		}
		stripped := quantSuffix.ReplaceAllString(base, "")
		if stripped == base {
			break
		}
		base = stripped
	}
	name := strings.ToLower(base[strings.LastIndex(base, "/")+1:])
	for _, m := range catalog() {
		if strings.ToLower(m.ID[strings.LastIndex(m.ID, "/")+1:]) == name {
			m.CheckpointQ = firstNonEmpty(CheckpointQuant(id), m.CheckpointQ)
			return m, true
		}
	}
	return Model{}, false
}

// hfConfig is the part of a Hugging Face config.json the estimator reads.
type hfConfig struct {
	Architectures  []string       `json:"architectures"`
	Layers         int            `json:"num_hidden_layers"`
	Heads          int            `json:"num_attention_heads"`
	KVHeads        int            `json:"num_key_value_heads"`
	HeadDim        int            `json:"head_dim"`
	Hidden         int            `json:"hidden_size"`
	Intermediate   int            `json:"intermediate_size"`
	Vocab          int            `json:"vocab_size"`
	MaxPositions   int            `json:"max_position_embeddings"`
	Tie            bool           `json:"tie_word_embeddings"`
	SlidingWindow  *int           `json:"sliding_window"`
	UseSliding     *bool          `json:"use_sliding_window"`
	SlidingPattern int            `json:"sliding_window_pattern"`
	AttentionChunk int            `json:"attention_chunk_size"`   // Llama 4 chunked local attention
	NoRopeLayers   []int          `json:"no_rope_layers"`         // Llama 4: 1 = RoPE (chunked) layer, 0 = NoPE (full)
	NoRopeInterval int            `json:"no_rope_layer_interval"` // Llama 4: every nth layer is NoPE (default 4)
	KVLoraRank     int            `json:"kv_lora_rank"`
	QKRopeHeadDim  int            `json:"qk_rope_head_dim"`
	LayerTypes     []string       `json:"layer_types"`
	LayersBlock    []string       `json:"layers_block_type"`
	HybridPattern  string         `json:"hybrid_override_pattern"`
	FullInterval   int            `json:"full_attention_interval"`
	NumExperts     int            `json:"num_experts"`
	NumLocalExp    int            `json:"num_local_experts"`
	NRouted        int            `json:"n_routed_experts"`
	ExpertsPerTok  int            `json:"num_experts_per_tok"`
	QuantConfig    map[string]any `json:"quantization_config"`
	TextConfig     *hfConfig      `json:"text_config"`
	// Parameter layout, read only to derive a parameter count when the
	// catalog does not state one (configParams).
	MoEIntermediate int            `json:"moe_intermediate_size"`
	SharedExperts   int            `json:"n_shared_experts"`
	SharedExpertFFN int            `json:"shared_expert_intermediate_size"`
	FirstKDense     int            `json:"first_k_dense_replace"`
	QLoraRank       int            `json:"q_lora_rank"`
	QKNopeHeadDim   int            `json:"qk_nope_head_dim"`
	VHeadDim        int            `json:"v_head_dim"`
	IntermediateMLP int            `json:"intermediate_size_mlp"`     // Llama 4 dense layers
	InterleaveMoE   int            `json:"interleave_moe_layer_step"` // Llama 4: every nth layer is MoE
	VisionConfig    map[string]any `json:"vision_config"`
	MMTokens        int            `json:"mm_tokens_per_image"` // Gemma 3
	AudioConfig     map[string]any `json:"audio_config"`
	LinKHeads       int            `json:"linear_num_key_heads"`
	LinVHeads       int            `json:"linear_num_value_heads"`
	LinKDim         int            `json:"linear_key_head_dim"`
	LinVDim         int            `json:"linear_value_head_dim"`
	LinConv         int            `json:"linear_conv_kernel_dim"`
	MambaHeads      int            `json:"mamba_num_heads"`
	MambaNHeads     int            `json:"mamba_n_heads"`
	MambaHeadDim    int            `json:"mamba_head_dim"`
	MambaDHead      int            `json:"mamba_d_head"`
	SSMState        int            `json:"ssm_state_size"`
	MambaDState     int            `json:"mamba_d_state"`
	NGroups         int            `json:"n_groups"`
	MambaNGroups    int            `json:"mamba_n_groups"`
	ConvKernel      int            `json:"conv_kernel"`
	MambaDConv      int            `json:"mamba_d_conv"`
	MambaExpand     int            `json:"mamba_expand"`
	Expand          int            `json:"expand"`
	SSMDType        string         `json:"mamba_ssm_dtype"`
	NextN           int            `json:"num_nextn_predict_layers"`
	MTPLayers       int            `json:"mtp_num_hidden_layers"`
	// Kimi Linear writes some fields its own way.
	ModelMaxLength   int        `json:"model_max_length"`
	ExpertsPerToken  int        `json:"num_experts_per_token"`
	NumSharedExperts int        `json:"num_shared_experts"`
	LinearAttn       *kdaConfig `json:"linear_attn_config"`
	// Gemma 4 (Gemma4TextConfig).
	GlobalHeadDim int  `json:"global_head_dim"`
	GlobalKVHeads int  `json:"num_global_key_value_heads"`
	KEqV          bool `json:"attention_k_eq_v"`
	KVShared      int  `json:"num_kv_shared_layers"`
	TopKExperts   int  `json:"top_k_experts"`
	EnableMoE     bool `json:"enable_moe_block"` // a routed MoE block beside the dense MLP of every layer
}

// kdaConfig is Kimi Linear's linear_attn_config: which layers (1-based) are
// full (MLA) attention and which KDA, and the KDA heads.
type kdaConfig struct {
	FullAttnLayers []int `json:"full_attn_layers"`
	KDALayers      []int `json:"kda_layers"`
	HeadDim        int   `json:"head_dim"`
	NumHeads       int   `json:"num_heads"`
	ConvKernel     int   `json:"short_conv_kernel_size"`
}

// catalogEntry is one row of catalog_models.json: config.json values of a
// model with where they were read.
type catalogEntry struct {
	ID      string   `json:"id"`
	Aliases []string `json:"aliases"`
	Source  string   `json:"source"`
	ParamsB float64  `json:"params_b"`
	VisionB float64  `json:"vision_params_b"`
	Config  hfConfig `json:"config"`
	// ExpertsOnly describes a quantized checkpoint whose quantization_config
	// leaves everything but the routed experts unquantized (the row's source
	// quotes its ignore list): integer weights of num_bits with one 16-bit
	// scale per group_size, symmetric (no zero point).
	ExpertsOnly *struct {
		Method    string `json:"quant_method"`
		Bits      int    `json:"num_bits"`
		GroupSize int    `json:"group_size"`
	} `json:"experts_only_quantization"`
}

//go:embed catalog_models.json
var catalogJSON []byte

func jsonCatalog() []Model {
	var entries []catalogEntry
	if err := json.Unmarshal(catalogJSON, &entries); err != nil {
		panic("plan: embedded catalog_models.json: " + err.Error())
	}
	var out []Model
	for _, e := range entries {
		m, err := fromHF(e.Config, e.ID)
		if err != nil {
			panic("plan: embedded catalog_models.json: " + e.ID + ": " + err.Error())
		}
		m.ParamsB, m.VisionParamsB, m.Source = e.ParamsB, e.VisionB, "catalog: "+e.Source
		if q := e.ExpertsOnly; q != nil && q.Bits > 0 && q.GroupSize > 0 {
			m.ExpertQuantBits = float64(q.Bits) + 16/float64(q.GroupSize)
			m.CheckpointQ = q.Method
		}
		if m.ParamsB == 0 {
			// No published total: the count the config itself gives.
			m.ParamsB = configParams(e.Config) / 1e9
			m.Source += "; parameters derived from the config values"
		}
		out = append(out, m)
		for _, a := range e.Aliases {
			alias := m
			alias.ID = a
			out = append(out, alias)
		}
	}
	return out
}

// fromHF turns config.json values into a Model.
func fromHF(c hfConfig, id string) (Model, error) {
	multimodal := c.VisionConfig != nil || c.AudioConfig != nil
	visionConfig, architectures, mmTokens := c.VisionConfig, c.Architectures, c.MMTokens
	if c.TextConfig != nil && c.Layers == 0 {
		tc := *c.TextConfig
		if !tc.Tie && c.Tie {
			tc.Tie = true
		}
		c, multimodal = tc, true
	}
	if c.Layers == 0 || c.Heads == 0 || c.Hidden == 0 {
		return Model{}, fmt.Errorf("num_hidden_layers, num_attention_heads and hidden_size are required")
	}
	m := Model{ID: id, Layers: c.Layers, Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim,
		Hidden: c.Hidden, Intermediate: c.Intermediate, Vocab: c.Vocab, MaxPositions: first(c.MaxPositions, c.ModelMaxLength), Tie: c.Tie,
		Kind: "dense", Multimodal: multimodal, KVLoraRank: c.KVLoraRank, QKRopeHeadDim: c.QKRopeHeadDim,
		LinearKHeads: c.LinKHeads, LinearVHeads: c.LinVHeads, LinearKHeadDim: c.LinKDim, LinearVHeadDim: c.LinVDim,
		LinearConvKernel: c.LinConv, SSMDType: c.SSMDType, ExpertsPerTok: first(c.ExpertsPerTok, c.ExpertsPerToken, c.TopKExperts),
		MambaHeads: first(c.MambaHeads, c.MambaNHeads), MambaHeadDim: first(c.MambaHeadDim, c.MambaDHead),
		SSMStateSize: first(c.SSMState, c.MambaDState), MambaGroups: first(c.NGroups, c.MambaNGroups),
		MambaConvKernel: first(c.ConvKernel, c.MambaDConv), MTPLayers: first(c.NextN, c.MTPLayers),
		Experts: first(c.NumExperts, c.NumLocalExp, c.NRouted), AttentionChunk: c.AttentionChunk}
	if m.Experts > 0 {
		m.ExpertFFN = first(c.MoEIntermediate, c.Intermediate)
		m.MoELayers = m.Layers - min(c.FirstKDense, m.Layers)
	}
	if c.LinearAttn != nil {
		m.KDAHeads, m.KDAHeadDim, m.KDAConvKernel = c.LinearAttn.NumHeads, c.LinearAttn.HeadDim, c.LinearAttn.ConvKernel
	}
	if m.KVHeads == 0 {
		m.KVHeads = m.Heads
	}
	if m.HeadDim == 0 {
		m.HeadDim = m.Hidden / m.Heads
	}
	// Gemma 4 (vLLM gemma4.py Gemma4DecoderLayer): full-attention layers
	// use global_head_dim, and num_global_key_value_heads KV heads when
	// attention_k_eq_v (else num_key_value_heads).
	if c.GlobalHeadDim > 0 {
		m.GlobalHeadDim, m.GlobalKVHeads = c.GlobalHeadDim, m.KVHeads
		if c.KEqV && c.GlobalKVHeads > 0 {
			m.GlobalKVHeads = c.GlobalKVHeads
		}
	}
	if c.KVShared > 0 && c.KVShared < c.Layers {
		m.KVSharedLayers = c.KVShared
	}
	if m.MambaGroups == 0 && m.MambaHeads > 0 {
		m.MambaGroups = 1
	}
	if e := first(c.MambaExpand, c.Expand); e > 0 && m.MambaHeads > 0 {
		m.MambaIntermediate = e * m.Hidden
	}
	sliding := c.SlidingWindow != nil && *c.SlidingWindow > 0 && (c.UseSliding == nil || *c.UseSliding)
	if sliding {
		m.SlidingWindow = *c.SlidingWindow
	}
	kinds, err := layerKindsOf(c, sliding)
	if err != nil {
		return Model{}, err
	}
	m.LayerTypes = kinds
	switch {
	case m.KDAHeads > 0 && m.Hybrid():
		m.Kind = "hybrid"
	case m.KVLoraRank > 0:
		m.Kind = "mla"
	case m.Hybrid():
		m.Kind = "hybrid"
	case sliding:
		m.Kind = "sliding"
	case m.Experts > 0:
		m.Kind = "moe"
	}
	if multimodal && m.Kind == "dense" {
		m.Kind = "multimodal"
	}
	if v, ok := qwenVision(visionConfig, m.Hidden, architectures); ok {
		m.Vision = &v
	} else if v, ok := gemmaVision(visionConfig, mmTokens, m.Hidden); ok {
		m.Vision = &v
	}
	if q, ok := c.QuantConfig["quant_method"].(string); ok {
		m.CheckpointQ = q
		if q == "compressed-tensors" {
			m.CTScheme = compressedTensorsScheme(c.QuantConfig)
		}
	}
	return m, nil
}

// compressedTensorsScheme reads the weights of a compressed-tensors
// quantization_config's first config group: 4-bit float (NVFP4), 4-bit int
// (W4A16, stored like GPTQ), 8-bit (FP8 or INT8). "" when it says otherwise
// or nothing readable.
func compressedTensorsScheme(qc map[string]any) string {
	groups, _ := qc["config_groups"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(groups)) {
		g, _ := groups[name].(map[string]any)
		w, _ := g["weights"].(map[string]any)
		bits, _ := w["num_bits"].(float64)
		typ, _ := w["type"].(string)
		switch {
		case bits == 4 && typ == "float":
			return "nvfp4"
		case bits == 4 && typ == "int":
			return "gptq"
		case bits == 8:
			return "fp8"
		}
	}
	return ""
}

// storedQuant is the scheme whose bits the weights take: --quantization (or
// the checkpoint's method), except compressed-tensors, a container whose
// bits its config groups (CTScheme) or, failing them, the checkpoint's name
// tell ("…-NVFP4", "…-W4A16", "…-FP8"); 8-bit is assumed when neither does.
func storedQuant(m Model, model, quant string) (string, string) {
	if quant != "compressed-tensors" {
		return quant, ""
	}
	if m.CTScheme != "" {
		return m.CTScheme, "compressed-tensors weights as its config groups say (" + m.CTScheme + ")"
	}
	if q := CheckpointQuant(model); q != "" && q != "compressed-tensors" {
		return q, "compressed-tensors weights as the checkpoint's name says (" + q + ")"
	}
	return quant, "compressed-tensors: the stored bits are not known here (8-bit assumed; a mounted config.json's config_groups tell)"
}

// layerKindsOf reads the per-layer kinds from the ways configs write them.
func layerKindsOf(c hfConfig, sliding bool) ([]LayerKind, error) {
	var out []LayerKind
	switch {
	case len(c.LayerTypes) > 0:
		for _, t := range c.LayerTypes {
			k, ok := map[string]LayerKind{"full_attention": LayerFull, "attention": LayerFull, "sliding_attention": LayerSliding,
				"linear_attention": LayerGDN, "mamba": LayerMamba, "mamba2": LayerMamba}[t]
			if !ok {
				return nil, fmt.Errorf("layer type %q is not modelled", t)
			}
			out = append(out, k)
		}
	case len(c.LayersBlock) > 0:
		for _, t := range c.LayersBlock {
			k, ok := map[string]LayerKind{"attention": LayerFull, "mamba": LayerMamba}[t]
			if !ok {
				return nil, fmt.Errorf("layers_block_type %q is not modelled", t)
			}
			out = append(out, k)
		}
	case c.HybridPattern != "":
		for _, r := range c.HybridPattern {
			switch r {
			case 'M':
				out = append(out, LayerMamba)
			case '*':
				out = append(out, LayerFull)
			case '-', 'E':
				out = append(out, LayerNone)
			default:
				return nil, fmt.Errorf("hybrid_override_pattern character %q is not modelled", r)
			}
		}
	case c.LinearAttn != nil && len(c.LinearAttn.FullAttnLayers) > 0:
		// Kimi Linear: full_attn_layers (1-based) are MLA when kv_lora_rank
		// is set, every other layer KDA (vLLM's kimi_linear.py is_kda_layer).
		full := map[int]bool{}
		for _, l := range c.LinearAttn.FullAttnLayers {
			full[l] = true
		}
		attn := LayerFull
		if c.KVLoraRank > 0 {
			attn = LayerMLA
		}
		for i := range c.Layers {
			out = append(out, map[bool]LayerKind{true: attn, false: LayerKDA}[full[i+1]])
		}
	case c.FullInterval > 0 && c.LinKHeads > 0:
		for i := range c.Layers {
			out = append(out, map[bool]LayerKind{true: LayerFull, false: LayerGDN}[(i+1)%c.FullInterval == 0])
		}
	case c.AttentionChunk > 0:
		// Llama 4 (vLLM llama4.py): RoPE layers use ChunkedLocalAttention,
		// NoPE layers (no_rope_layers[i] == 0) full attention. An absent or
		// empty no_rope_layers is transformers' Llama4TextConfig default:
		// every no_rope_layer_interval-th layer (4) is NoPE.
		nope := c.NoRopeLayers
		if len(nope) == 0 {
			step := max(c.NoRopeInterval, 1)
			if c.NoRopeInterval == 0 {
				step = 4
			}
			for i := range c.Layers {
				nope = append(nope, map[bool]int{true: 1, false: 0}[(i+1)%step != 0])
			}
		}
		for _, r := range nope {
			out = append(out, map[bool]LayerKind{true: LayerChunked, false: LayerFull}[r != 0])
		}
	case sliding && c.SlidingPattern > 1:
		for i := range c.Layers {
			out = append(out, map[bool]LayerKind{true: LayerFull, false: LayerSliding}[(i+1)%c.SlidingPattern == 0])
		}
	default:
		return nil, nil
	}
	if len(out) != c.Layers {
		return nil, fmt.Errorf("%d layer kinds for %d layers", len(out), c.Layers)
	}
	if !sliding {
		for _, k := range out {
			if k == LayerSliding {
				return nil, fmt.Errorf("sliding_attention layers without a sliding_window")
			}
		}
	}
	return out, nil
}

func first(v ...int) int {
	for _, x := range v {
		if x != 0 {
			return x
		}
	}
	return 0
}

// LoadConfigJSON reads a model's config.json (a file, or a folder holding it)
// and, when the folder has model.safetensors.index.json, the exact weight size.
func LoadConfigJSON(path string) (Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Model{}, fmt.Errorf("model config %q: %w", path, err)
	}
	dir := filepath.Dir(path)
	if st.IsDir() {
		dir, path = path, filepath.Join(path, "config.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Model{}, fmt.Errorf("model config: %w", err)
	}
	var c hfConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return Model{}, fmt.Errorf("model config %s: %w", path, err)
	}
	m, err := fromHF(c, filepath.Base(dir))
	if err != nil {
		return Model{}, fmt.Errorf("model config %s: %w", path, err)
	}
	m.Source = path
	if idx, err := os.ReadFile(filepath.Join(dir, "model.safetensors.index.json")); err == nil {
		var ix struct {
			Metadata struct {
				TotalSize int64 `json:"total_size"`
			} `json:"metadata"`
		}
		if json.Unmarshal(idx, &ix) == nil {
			m.WeightBytes = ix.Metadata.TotalSize
		}
	}
	// The image processor's max_pixels (Qwen2/2.5-VL) or size.longest_edge
	// (Qwen3-VL) sizes the profile's dummy image.
	if m.Vision != nil && m.Vision.Family == VisionQwen {
		if pre, err := os.ReadFile(filepath.Join(dir, "preprocessor_config.json")); err == nil {
			var pc map[string]any
			if json.Unmarshal(pre, &pc) == nil {
				if px := maxPixelsOf(pc); px > 0 {
					v := *m.Vision
					v.MaxPixels = px
					m.Vision = &v
				}
			}
		}
	}
	if m.WeightBytes == 0 {
		if st, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
			m.WeightBytes = st.Size()
		}
	}
	// Parameters from the layout, as the catalog derives them (configParams:
	// every routed and shared expert, MLA, Llama 4, Gated DeltaNet). Mamba
	// hybrids, which it does not count, fall back to a dense estimate:
	// attention 4·h² + FFN 3·h·i per layer, embeddings twice.
	m.ParamsB = configParams(c) / 1e9
	if m.ParamsB == 0 {
		emb := float64(m.Vocab) * float64(m.Hidden)
		perLayer := 4*float64(m.Hidden)*float64(m.Hidden) + 3*float64(m.Hidden)*float64(m.Intermediate)
		m.ParamsB = (float64(m.Layers)*perLayer + emb*2) / 1e9
	}
	return m, nil
}

// configParams counts a decoder's parameters from its config.json values:
// embeddings (twice when untied), attention projections (MLA's low-rank ones
// when kv_lora_rank is set), and per layer a gated FFN of 3 × hidden ×
// intermediate, or on MoE layers every routed expert, the shared experts and
// the router. Norms and biases are left out (well under 0.1 %). A vision or
// audio tower is not counted; hybrids with Mamba layers give 0 (not counted).
func configParams(c hfConfig) float64 {
	if c.TextConfig != nil && c.Layers == 0 {
		tie := c.Tie || c.TextConfig.Tie
		c = *c.TextConfig
		c.Tie = tie
	}
	h, L := float64(c.Hidden), c.Layers
	if c.Heads == 0 || L == 0 || c.HybridPattern != "" || len(c.LayersBlock) > 0 {
		return 0 // Mamba layers are not counted here
	}
	kv, hd := c.KVHeads, c.HeadDim
	if kv == 0 {
		kv = c.Heads
	}
	if hd == 0 {
		hd = c.Hidden / c.Heads
	}
	emb := float64(c.Vocab) * h
	if !c.Tie {
		emb *= 2
	}
	heads := float64(c.Heads)
	var attn float64
	if c.KVLoraRank > 0 {
		qk := float64(c.QKNopeHeadDim + c.QKRopeHeadDim)
		if c.QLoraRank > 0 {
			attn = h*float64(c.QLoraRank) + float64(c.QLoraRank)*heads*qk
		} else {
			attn = h * heads * qk
		}
		attn += h*float64(c.KVLoraRank+c.QKRopeHeadDim) + float64(c.KVLoraRank)*heads*float64(c.QKNopeHeadDim+c.VHeadDim) +
			heads*float64(c.VHeadDim)*h
	} else {
		attn = 2*h*heads*float64(hd) + 2*h*float64(kv)*float64(hd)
	}
	// Gated DeltaNet hybrids (Qwen3-Next, Qwen3.5): the full-attention layers
	// have an output gate (q_proj twice as wide); each linear-attention layer
	// has in_proj_qkvz, in_proj_ba, a depthwise conv over q, k and v, A_log
	// and dt_bias per value head, and out_proj (vLLM's qwen3_next.py).
	var linear, linearLayers float64
	if c.LinKHeads > 0 {
		attn += h * heads * float64(hd)
		keyDim, valDim := float64(c.LinKHeads*c.LinKDim), float64(c.LinVHeads*c.LinVDim)
		linear = h*(2*keyDim+2*valDim) + h*2*float64(c.LinVHeads) + (2*keyDim+valDim)*float64(c.LinConv) +
			2*float64(c.LinVHeads) + valDim*h
		kinds, _ := layerKindsOf(c, false)
		for i := range L {
			if len(kinds) == L {
				if kinds[i] == LayerGDN {
					linearLayers++
				}
			} else if c.FullInterval > 0 && (i+1)%c.FullInterval != 0 {
				linearLayers++
			}
		}
	}
	// Kimi Delta Attention layers (vLLM's kda.py, as the checkpoint's
	// tensors): q, k, v and o projections of heads × head_dim, a depthwise
	// conv over q, k and v, the low-rank forget (f_a, f_b) and output gates
	// (g_a, g_b), b_proj, A_log, dt_bias and o_norm.
	if k := c.LinearAttn; k != nil && k.NumHeads > 0 {
		d, hd := float64(k.NumHeads*k.HeadDim), float64(k.HeadDim)
		linear = 4*h*d + 3*d*float64(k.ConvKernel) + 2*(h*hd+hd*d) + h*float64(k.NumHeads) + float64(k.NumHeads) + d + hd
		kinds, _ := layerKindsOf(c, false)
		for _, kd := range kinds {
			if kd == LayerKDA {
				linearLayers++
			}
		}
	}
	// Gemma 4's full-attention layers (vLLM gemma4.py): q and o of
	// heads × global_head_dim, k of the global KV heads, and no v_proj when
	// attention_k_eq_v.
	var globalAttn, globalLayers float64
	if c.GlobalHeadDim > 0 {
		gkv, ghd := float64(kv), float64(c.GlobalHeadDim)
		if c.KEqV && c.GlobalKVHeads > 0 {
			gkv = float64(c.GlobalKVHeads)
		}
		globalAttn = 2*h*heads*ghd + h*gkv*ghd
		if !c.KEqV {
			globalAttn += h * gkv * ghd
		}
		for _, t := range c.LayerTypes {
			if t == "full_attention" {
				globalLayers++
			}
		}
	}
	attnAll := (float64(L)-linearLayers-globalLayers)*attn + linearLayers*linear + globalLayers*globalAttn
	dense := 3 * h * float64(c.Intermediate)
	experts := first(c.NumExperts, c.NumLocalExp, c.NRouted)
	if experts == 0 {
		return emb + attnAll + float64(L)*dense
	}
	moeFFN := first(c.MoEIntermediate, c.Intermediate)
	moe := float64(experts)*3*h*float64(moeFFN) + h*float64(experts)
	if c.EnableMoE {
		// Gemma 4: the routed experts run beside the layer's dense MLP.
		moe += dense
	}
	if c.IntermediateMLP > 0 {
		// Llama 4: MoE layers carry one shared expert of intermediate_size,
		// dense layers an FFN of intermediate_size_mlp.
		step := max(c.InterleaveMoE, 1)
		moe += 3 * h * float64(c.Intermediate)
		nMoE := L / step
		return emb + attnAll + float64(nMoE)*moe + float64(L-nMoE)*3*h*float64(c.IntermediateMLP)
	}
	switch {
	case c.SharedExpertFFN > 0:
		moe += 3 * h * float64(c.SharedExpertFFN)
	case first(c.SharedExperts, c.NumSharedExperts) > 0:
		moe += float64(first(c.SharedExperts, c.NumSharedExperts)) * 3 * h * float64(moeFFN)
	}
	k := min(c.FirstKDense, L)
	return emb + attnAll + float64(k)*dense + float64(L-k)*moe
}
