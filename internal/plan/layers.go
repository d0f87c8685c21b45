package plan

import (
	"fmt"
	"strings"

	"github.com/vllmctl/vllmctl/internal/vllm"
)

// LayerKind is the kind of cache state one decoder layer keeps in vLLM's V1
// KV cache manager (vllm/v1/kv_cache_interface.py: FullAttentionSpec,
// SlidingWindowSpec, ChunkedLocalAttentionSpec, MLAAttentionSpec, MambaSpec).
type LayerKind string

// Layer kinds.
const (
	LayerFull    LayerKind = "full_attention"          // K and V of every token
	LayerSliding LayerKind = "sliding_attention"       // K and V of the last window tokens
	LayerChunked LayerKind = "chunked_local_attention" // Llama 4: K and V of the current attention chunk
	LayerMLA     LayerKind = "mla"                     // one latent vector per token (kv_lora_rank + qk_rope_head_dim)
	LayerGDN     LayerKind = "linear_attention"        // Gated DeltaNet: conv + recurrent state per sequence
	LayerMamba   LayerKind = "mamba"                   // Mamba2: conv + SSM state per sequence
	LayerKDA     LayerKind = "kda"                     // Kimi Delta Attention: conv + recurrent state per sequence
	LayerNone    LayerKind = "none"                    // an MLP/MoE-only block (Nemotron-H '-' and 'E'): no cache
)

// isState reports whether the layer keeps a fixed state per sequence (MambaSpec).
func (k LayerKind) isState() bool { return k == LayerGDN || k == LayerMamba || k == LayerKDA }

// layerSpec is one layer's cache spec on one rank, as vLLM builds it.
type layerSpec struct {
	kind      LayerKind
	perToken  int64 // attention: bytes per token of this layer on this rank
	state     int64 // state layers: bytes of one sequence's state (the MambaSpec page)
	window    int   // sliding window, or attention chunk of a chunked layer, in tokens
	blockSize int   // tokens per block (attention)
	draft     bool  // a layer of the separate draft model (speculative decoding)
}

func (s layerSpec) page() int64 {
	if s.kind.isState() {
		return s.state
	}
	return s.perToken * int64(s.blockSize)
}

// specKey identifies specs vLLM treats as equal (same group type).
type specKey struct {
	kind            LayerKind
	perToken, state int64
	window          int
}

func (s layerSpec) key() specKey { return specKey{s.kind, s.perToken, s.state, s.window} }

// Group is one KV cache group of vLLM's hybrid allocator: layers that share a
// block table. All groups share one page size and one pool of blocks.
type Group struct {
	Kind       LayerKind `json:"kind"`
	Layers     int       `json:"layers"`            // real layers in the group on one rank
	Padding    int       `json:"padding,omitempty"` // padding slots vLLM adds to even the groups
	BlockSize  int       `json:"block_size"`        // tokens per block (state groups: one block per sequence)
	PageBytes  int64     `json:"page_bytes"`        // bytes per block and layer after unification
	RealPage   int64     `json:"real_page_bytes"`   // before padding to the common page size
	Window     int       `json:"sliding_window,omitempty"`
	Chunk      int       `json:"attention_chunk_size,omitempty"`
	PerRequest int       `json:"blocks_per_request"` // blocks one request of max_model_len holds
	// SharesTable: these layers are in the previous group's KV cache group
	// (vLLM's UniformTypeKVCacheSpecs: same attention type, another page
	// size), so they hold the same blocks and add their page to each block.
	SharesTable bool `json:"shares_block_table,omitempty"`
	// Draft counts the layers of the separate draft model among Layers.
	Draft int `json:"draft_layers,omitempty"`
}

// Layout is how vLLM lays out the KV cache of one rank.
type Layout struct {
	Groups    []Group `json:"groups"`
	GroupSize int     `json:"tensors"`    // layers per group = number of shared KV tensors
	PageBytes int64   `json:"page_bytes"` // the common page size
	// PerRequest is the number of blocks of the shared pool one request of
	// max_model_len needs (the sum over groups): vLLM's num_block_per_request.
	PerRequest int `json:"blocks_per_request"`
	// BlockBytes, when set, is the bytes of one block over every layer where
	// the layers' pages differ (UniformTypeKVCacheSpecs.page_size_bytes, the
	// sum of the layers' pages); else one block is PageBytes × tensors.
	BlockBytes int64    `json:"block_bytes,omitempty"`
	Hybrid     bool     `json:"hybrid"` // more than one group type
	Notes      []string `json:"notes,omitempty"`
}

// layoutInput is what the layout depends on besides the model.
type layoutInput struct {
	TP, PP        int
	KVBytes       float64 // bytes per KV element (0.5 for nvfp4)
	ModelBytes    int     // bytes per element of the model dtype (conv state)
	SSMBytes      int     // bytes per element of the recurrent state
	MaxModelLen   int
	BatchedTokens int
	InFlight      int  // tokens a sliding window reserves beyond itself (0: BatchedTokens)
	BlockSize     int  // --block-size, 0: the backend's (16; 64 for MLA)
	NoHybrid      bool // --disable-hybrid-kv-cache-manager or a release before the hybrid allocator
	MambaAlign    bool // prefix caching on a hybrid model in a release with mamba_cache_mode=align
	SpecTokens    int  // num_speculative_tokens (adds rows to the conv state and state blocks)
	MTPLayers     int  // MTP draft layers (one full-attention layer each) when MTP is on
	// Draft is a separate draft model (draft_model, eagle, eagle3 with a
	// checkpoint whose config is known); its attention layers join the KV
	// cache with their own specs at DraftTP (the target's TP in V1).
	Draft   *Model
	DraftTP int
}

// layerKinds lists the kind of every decoder layer of the model.
func (m Model) layerKinds() []LayerKind {
	if len(m.LayerTypes) > 0 {
		return m.LayerTypes
	}
	k := LayerFull
	switch {
	case m.KVLoraRank > 0:
		k = LayerMLA
	case m.SlidingWindow > 0:
		k = LayerSliding
	}
	out := make([]LayerKind, m.Layers)
	for i := range out {
		out[i] = k
	}
	return out
}

// Hybrid reports whether the model mixes layer kinds.
func (m Model) Hybrid() bool {
	ks := m.layerKinds()
	for _, k := range ks {
		if k != ks[0] {
			return true
		}
	}
	return false
}

func cdiv(a, b int64) int64 { return (a + b - 1) / b }

// specs builds the cache spec of each layer one pipeline stage holds (the
// first stage: ceil(layers ÷ PP) layers), following vLLM's attention and
// mamba layers' get_kv_cache_spec.
func (m Model) specs(in layoutInput) ([]layerSpec, error) {
	kinds := m.layerKinds()
	// MTP draft layers are full attention (Qwen3-Next/3.5 MTP, DeepSeek MTP is MLA).
	for range in.MTPLayers {
		if m.KVLoraRank > 0 {
			kinds = append(kinds, LayerMLA)
		} else {
			kinds = append(kinds, LayerFull)
		}
	}
	per := (len(kinds) + in.PP - 1) / in.PP
	if per < len(kinds) {
		kinds = kinds[:per]
	}
	kvh := max(1, m.KVHeads/in.TP)
	out := make([]layerSpec, 0, len(kinds))
	for i, k := range kinds {
		s := layerSpec{kind: k, blockSize: 16}
		if m.KVSharedLayers > 0 && i >= m.Layers-m.KVSharedLayers && i < m.Layers {
			// A KV-shared layer (Gemma 3n, Gemma 4) has a
			// kv_sharing_target_layer_name: vLLM gives it no spec of its own.
			continue
		}
		switch k {
		case LayerNone:
			continue
		case LayerFull, LayerSliding, LayerChunked:
			// AttentionSpec.page_size_bytes: 2 (K, V) × block × heads × head_size × dtype.
			s.perToken = int64(float64(2*kvh*m.HeadDim) * in.KVBytes)
			if k == LayerFull && m.GlobalHeadDim > 0 && i < m.Layers {
				// Gemma 4's full layers: global_head_dim and their own KV heads
				// (K is stored twice when attention_k_eq_v: vLLM loads k_proj
				// into both the K and V slots and caches both).
				s.perToken = int64(float64(2*max(1, m.GlobalKVHeads/in.TP)*m.GlobalHeadDim) * in.KVBytes)
			}
			switch k {
			case LayerSliding:
				s.window = m.SlidingWindow
			case LayerChunked:
				s.window = m.AttentionChunk
			}
		case LayerMLA:
			// MLAAttentionSpec: one latent head of kv_lora_rank + qk_rope_head_dim, not split by TP.
			s.perToken = int64(float64(m.KVLoraRank+m.QKRopeHeadDim) * in.KVBytes)
			s.blockSize = 64
		case LayerGDN:
			// MambaStateShapeCalculator.gated_delta_net_state_shape:
			// conv (kernel − 1 + spec, (2·k_heads·k_dim + v_heads·v_dim) ÷ TP) in the model dtype,
			// recurrent (v_heads ÷ TP, v_dim, k_dim) in the SSM state dtype.
			if m.LinearKHeads == 0 || m.LinearVHeads == 0 || m.LinearConvKernel == 0 {
				return nil, fmt.Errorf("linear-attention layers need linear_num_key_heads, linear_num_value_heads, linear_key_head_dim, linear_value_head_dim and linear_conv_kernel_dim")
			}
			conv := int64(2*m.LinearKHeads*m.LinearKHeadDim+m.LinearVHeads*m.LinearVHeadDim) / int64(in.TP)
			rows := int64(m.LinearConvKernel - 1 + in.SpecTokens)
			rec := int64(m.LinearVHeads/in.TP) * int64(m.LinearVHeadDim) * int64(m.LinearKHeadDim)
			s.state = rows*conv*int64(in.ModelBytes) + rec*int64(in.SSMBytes)
		case LayerKDA:
			// MambaStateShapeCalculator.kda_state_shape: conv states of q, k
			// and v, each (kernel − 1, heads × head_dim ÷ TP), in the model
			// dtype (no rows for speculative tokens), and the recurrent state
			// (heads ÷ TP, head_dim, head_dim) in float32 whatever the cache
			// dtype (kda_state_dtype).
			if m.KDAHeads == 0 || m.KDAHeadDim == 0 || m.KDAConvKernel == 0 {
				return nil, fmt.Errorf("KDA layers need linear_attn_config num_heads, head_dim and short_conv_kernel_size")
			}
			proj := int64(m.KDAHeads*m.KDAHeadDim) / int64(in.TP)
			rec := int64(m.KDAHeads/in.TP) * int64(m.KDAHeadDim) * int64(m.KDAHeadDim)
			s.state = 3*int64(m.KDAConvKernel-1)*proj*int64(in.ModelBytes) + rec*4
		case LayerMamba:
			// mamba2_state_shape: n_groups grows to a multiple of TP; conv (kernel − 1 + spec,
			// (intermediate + 2·groups·state) ÷ TP), SSM (heads ÷ TP, head_dim, state).
			if m.MambaHeads == 0 || m.SSMStateSize == 0 || m.MambaConvKernel == 0 {
				return nil, fmt.Errorf("mamba layers need mamba_num_heads, mamba_head_dim, ssm_state_size, n_groups and conv_kernel")
			}
			groups := m.MambaGroups
			if groups%in.TP != 0 {
				groups += in.TP - groups
			}
			inter := m.MambaIntermediate
			if inter == 0 {
				inter = m.MambaHeads * m.MambaHeadDim
			}
			conv := int64(inter+2*groups*m.SSMStateSize) / int64(in.TP)
			rows := int64(m.MambaConvKernel - 1 + in.SpecTokens)
			ssm := int64(m.MambaHeads/in.TP) * int64(m.MambaHeadDim) * int64(m.SSMStateSize)
			s.state = rows*conv*int64(in.ModelBytes) + ssm*int64(in.SSMBytes)
		default:
			return nil, fmt.Errorf("layer kind %q is not modelled", k)
		}
		if in.BlockSize > 0 && !k.isState() {
			s.blockSize = in.BlockSize
		}
		out = append(out, s)
	}
	if in.Draft != nil && in.PP == 1 {
		// The drafter's attention layers register in the same forward
		// context (DraftModelProposer/EagleProposer.load_model: prefix
		// "draft_model"), so get_kv_cache_spec gives each its own spec from
		// the draft's heads and head size, split by the draft's TP.
		din := in
		din.Draft, din.MTPLayers, din.PP = nil, 0, 1
		din.TP = max(1, in.DraftTP)
		ds, err := in.Draft.specs(din)
		if err != nil {
			return nil, fmt.Errorf("draft model %s: %v", in.Draft.ID, err)
		}
		for i := range ds {
			ds[i].draft = true
		}
		out = append(out, ds...)
	}
	return out, nil
}

// layout follows vLLM's get_kv_cache_groups and get_kv_cache_config_from_groups
// (vllm/v1/core/kv_cache_utils.py) and, for attention + mamba hybrids,
// HybridAttentionMambaModelConfig (vllm/model_executor/models/config.py,
// later platforms/interface.py): the attention block grows to a multiple of
// 16 (64 for MLA) tokens until one attention page holds a mamba state, and
// the mamba page is padded to the attention page.
func (m Model) layout(in layoutInput) (Layout, error) {
	specs, err := m.specs(in)
	if err != nil {
		return Layout{}, err
	}
	if len(specs) == 0 {
		return Layout{}, fmt.Errorf("the model has no attention or state layers")
	}
	var lo Layout
	// 1. Attention + state hybrids: grow the attention block, pad the state page.
	var statePage int64
	for _, s := range specs {
		if s.kind.isState() {
			statePage = max(statePage, s.state)
		}
	}
	if statePage > 0 {
		var attn1 int64
		align := int64(16)
		for _, s := range specs {
			// HybridAttentionMambaModelConfig sizes the block from the
			// target model's attention; a draft's layers are unified after.
			if !s.kind.isState() && !s.draft {
				attn1 = max(attn1, s.perToken)
				if s.kind == LayerMLA {
					align = 64
				}
			}
		}
		if attn1 > 0 {
			bs := align * cdiv(statePage, align*attn1)
			if in.BlockSize > 0 && int64(in.BlockSize) > bs {
				bs = int64(in.BlockSize)
			}
			page := bs * attn1
			for i := range specs {
				if !specs[i].kind.isState() { // cache_config.block_size: the draft's layers too
					specs[i].blockSize = int(bs)
				}
			}
			lo.Notes = append(lo.Notes, fmt.Sprintf("attention block grown to %d tokens so that one page (%s B) holds a %s B state (vLLM: `Setting attention block size to %d tokens`)", bs, vllm.Commas(int(page)), vllm.Commas(int(statePage)), bs))
			statePage = page
		}
	}
	real := map[specKey]int64{}
	for i := range specs {
		unpadded := specs[i].page()
		if specs[i].kind.isState() && statePage > specs[i].state {
			specs[i].state = statePage // MambaSpec.page_size_padded
		}
		real[specs[i].key()] = unpadded // keyed as grouped below: by the padded spec
	}
	// 2. Without the hybrid allocator, sliding and chunked layers are sized
	// as full attention (FullAttentionSpec records the window or chunk only).
	if in.NoHybrid {
		for i := range specs {
			if specs[i].kind == LayerSliding || specs[i].kind == LayerChunked {
				specs[i].kind, specs[i].window = LayerFull, 0
			}
		}
	}
	// 3. Group layers by spec, in first-seen order. Layers of one spec are
	// alike, so a group keeps its first spec and a count (a handful of
	// groups: a linear search, no per-layer map or slice growth).
	type specGroup struct {
		key      specKey
		spec     layerSpec
		n, draft int
	}
	var byKey []specGroup
	for _, s := range specs {
		k := s.key()
		found := -1
		for i := range byKey {
			if byKey[i].key == k {
				byKey[i].n++
				found = i
				break
			}
		}
		if found < 0 {
			byKey = append(byKey, specGroup{key: k, spec: s, n: 1})
			found = len(byKey) - 1
		}
		if s.draft {
			byKey[found].draft++
		}
	}
	// UniformTypeKVCacheSpecs.from_specs: layers of one attention type (all
	// full, or all sliding with one window) and one block size whose pages
	// differ (a draft model with other heads or head size) make one KV cache
	// group; a block holds every layer's page (page_size_bytes is their sum)
	// and num_blocks = available ÷ that sum. vLLM V0's spec-decode worker
	// came to the same count (split_num_cache_blocks_evenly: the target's
	// and the draft's caches get equally many blocks).
	if uniform := len(byKey) > 1; uniform {
		first := byKey[0].spec
		for _, g := range byKey[1:] {
			if g.spec.kind != first.kind || g.spec.window != first.window || g.spec.blockSize != first.blockSize || first.kind.isState() {
				uniform = false
			}
		}
		if uniform {
			lo.GroupSize, lo.PageBytes = len(specs), first.page()
			for i, sg := range byKey {
				s := sg.spec
				gr := Group{Kind: s.kind, Layers: sg.n, BlockSize: s.blockSize, PageBytes: s.page(), RealPage: s.page(),
					Window: s.window, PerRequest: perRequestBlocks(s, in), SharesTable: i > 0, Draft: sg.draft}
				lo.BlockBytes += int64(sg.n) * s.page()
				lo.Groups = append(lo.Groups, gr)
			}
			lo.PerRequest = lo.Groups[0].PerRequest
			lo.Notes = append(lo.Notes, fmt.Sprintf("one KV cache group of %d layers whose pages differ (vLLM's UniformTypeKVCacheSpecs): a block is %s B over every layer", len(specs), vllm.Commas(int(lo.BlockBytes))))
			return lo, nil
		}
	}
	// unify_kv_cache_spec_page_size: smaller attention pages grow their block.
	var maxPage int64
	for _, g := range byKey {
		maxPage = max(maxPage, g.spec.page())
	}
	for i := range byKey {
		s := byKey[i].spec
		if p := s.page(); p != maxPage {
			if s.kind.isState() || maxPage%p != 0 {
				return Layout{}, fmt.Errorf("page sizes %s B and %s B cannot be unified: vLLM raises NotImplementedError", vllm.Commas(int(p)), vllm.Commas(int(maxPage)))
			}
			byKey[i].spec.blockSize *= int(maxPage / p)
			real[byKey[i].key] = maxPage // a larger block, not padding: the page is all real
		}
	}
	lo.PageBytes = maxPage
	if len(byKey) == 1 {
		lo.GroupSize = len(specs)
	} else {
		lo.Hybrid = true
		minN, maxN := len(specs), 0
		for _, g := range byKey {
			minN, maxN = min(minN, g.n), max(maxN, g.n)
		}
		lo.GroupSize = minN
		if float64(maxN) < float64(minN)*1.5 {
			lo.GroupSize = maxN
		}
	}
	for _, sg := range byKey {
		count := sg.n
		n := (count + lo.GroupSize - 1) / lo.GroupSize
		for g := range n {
			// vLLM assigns layers[i::n] to group i; the count per group differs by at most one.
			layers := count / n
			if g < count%n {
				layers++
			}
			s := sg.spec
			gr := Group{Kind: s.kind, Layers: layers, Padding: lo.GroupSize - layers, BlockSize: s.blockSize,
				PageBytes: lo.PageBytes, RealPage: real[sg.key], Window: s.window}
			if sg.draft > 0 {
				// the draft's layers of this spec, spread as layers[i::n] are
				gr.Draft = sg.draft / n
				if g < sg.draft%n {
					gr.Draft++
				}
			}
			if s.kind == LayerChunked {
				gr.Window, gr.Chunk = 0, s.window
			}
			gr.PerRequest = perRequestBlocks(s, in)
			if s.kind.isState() {
				gr.BlockSize = 0
			}
			lo.Groups = append(lo.Groups, gr)
			lo.PerRequest += gr.PerRequest
		}
	}
	return lo, nil
}

// perRequestBlocks is cdiv(spec.max_memory_usage_bytes, page) for one group:
// full attention cdiv(max_model_len, block); sliding window
// cdiv(min(window − 1 + tokens in flight, max_model_len), block) + 1 (one
// batch of max_num_batched_tokens in flight before 0.26, two under async
// scheduling from 0.26: InFlight);
// chunked local attention cdiv(min(chunk + max_num_batched_tokens,
// max_model_len), block) (ChunkedLocalAttentionSpec, no extra block: a chunk
// starts on a block boundary); state layers one block (two with
// mamba_cache_mode=align) plus one per speculative token.
func perRequestBlocks(s layerSpec, in layoutInput) int {
	mml := int64(in.MaxModelLen)
	switch s.kind {
	case LayerChunked:
		n := min(int64(s.window+in.BatchedTokens), mml)
		return int(cdiv(n, int64(s.blockSize)))
	case LayerSliding:
		inflight := in.InFlight
		if inflight == 0 {
			inflight = in.BatchedTokens
		}
		n := min(int64(s.window-1+inflight), mml)
		return int(cdiv(n, int64(s.blockSize)) + 1)
	case LayerGDN, LayerMamba, LayerKDA:
		n := 1
		if in.MambaAlign {
			n = 2
		}
		return n + in.SpecTokens
	}
	return int(cdiv(mml, int64(s.blockSize)))
}

// kvFigures are the figures vLLM prints for a layout and an available memory.
type kvFigures struct {
	Blocks      int     // num_blocks (minimum over ranks)
	TokensOld   int     // num_blocks // groups × min block size (vLLM up to 0.19)
	TokensNew   int     // int(concurrency × max_model_len) (vLLM from 0.20, PR #41069)
	Concurrency float64 // num_blocks ÷ blocks per request
	NeedBytes   int64   // KV memory one request of max_model_len needs
	MaxLen      int     // the largest max_model_len that fits (binary search as vLLM does)
}

func (lo Layout) figures(availBytes int64, in layoutInput) kvFigures {
	var f kvFigures
	pool := lo.PageBytes * int64(lo.GroupSize)
	if lo.BlockBytes > 0 {
		pool = lo.BlockBytes
	}
	f.NeedBytes = pool * int64(lo.PerRequest)
	if availBytes > 0 {
		f.Blocks = int(availBytes / pool)
	}
	minBS := 0
	for _, g := range lo.Groups {
		if g.BlockSize > 0 && (minBS == 0 || g.BlockSize < minBS) {
			minBS = g.BlockSize
		}
	}
	if minBS == 0 {
		minBS = BlockSize
	}
	f.TokensOld = f.Blocks / lo.tableGroups() * minBS
	f.Concurrency = float64(f.Blocks) / float64(lo.PerRequest)
	f.TokensNew = int(f.Concurrency * float64(in.MaxModelLen))
	// estimate_max_model_len: the largest length whose need fits the memory.
	fits := func(n int) bool {
		in2 := in
		in2.MaxModelLen = n
		per := 0
		for _, g := range lo.Groups {
			if g.SharesTable {
				continue
			}
			s := layerSpec{kind: g.Kind, blockSize: max(1, g.BlockSize), window: max(g.Window, g.Chunk)}
			per += perRequestBlocks(s, in2)
		}
		return pool*int64(per) <= availBytes
	}
	if availBytes > 0 && fits(1) {
		l, r := 1, max(1, in.MaxModelLen)
		for l <= r {
			mid := (l + r) / 2
			if fits(mid) {
				f.MaxLen, l = mid, mid+1
			} else {
				r = mid - 1
			}
		}
	}
	return f
}

// tableGroups is the number of vLLM KV cache groups (block tables).
func (lo Layout) tableGroups() int {
	n := 0
	for _, g := range lo.Groups {
		if !g.SharesTable {
			n++
		}
	}
	return max(1, n)
}

// describe renders the layout's groups, for --explain.
func (lo Layout) describe() []string {
	var out []string
	counts := map[LayerKind]int{}
	var kinds []LayerKind
	for _, g := range lo.Groups {
		if counts[g.Kind] == 0 {
			kinds = append(kinds, g.Kind)
		}
		counts[g.Kind]++
	}
	for _, k := range kinds {
		var g Group
		layers, draft := 0, 0
		for _, x := range lo.Groups {
			if x.Kind == k {
				g = x
				layers += x.Layers
				draft += x.Draft
			}
		}
		what := ""
		switch k {
		case LayerFull, LayerMLA:
			what = fmt.Sprintf("block %d tokens, %s blocks per request", g.BlockSize, vllm.Commas(g.PerRequest))
		case LayerSliding:
			what = fmt.Sprintf("window %s, block %d tokens, %s blocks per request", vllm.Commas(g.Window), g.BlockSize, vllm.Commas(g.PerRequest))
		case LayerChunked:
			what = fmt.Sprintf("chunk %s, block %d tokens, %s blocks per request", vllm.Commas(g.Chunk), g.BlockSize, vllm.Commas(g.PerRequest))
		default:
			what = fmt.Sprintf("state %s B per sequence (page padded to %s B), %d blocks per request", vllm.Commas(int(g.RealPage)), vllm.Commas(int(g.PageBytes)), g.PerRequest)
		}
		if draft > 0 {
			what += fmt.Sprintf("; %d of the layers are the draft model's", draft)
		}
		groups := fmt.Sprintf("%d group(s) of %d", counts[k], lo.GroupSize)
		if lo.BlockBytes > 0 {
			groups = "one group, block " + vllm.Commas(int(lo.BlockBytes)) + " B"
		}
		out = append(out, fmt.Sprintf("%s: %d layers in %s; %s", k, layers, groups, what))
	}
	return out
}

// kindsSummary names the layer mix ("12 full_attention + 36 linear_attention").
func (m Model) kindsSummary() string {
	counts := map[LayerKind]int{}
	var order []LayerKind
	for _, k := range m.layerKinds() {
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	return strings.Join(parts, " + ")
}
