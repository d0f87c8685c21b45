package plan

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

const gib = float64(1 << 30)

// BlockSize is vLLM's KV block size on CUDA for ordinary attention.
const BlockSize = 16

// Verdict of a plan.
type Verdict string

// Verdicts, from good to bad.
const (
	Fits            Verdict = "fits"
	FitsTight       Verdict = "fits-tight"
	KVTooSmall      Verdict = "kv-too-small"
	NoKVMemory      Verdict = "no-kv-memory"
	WeightsTooLarge Verdict = "weights-do-not-fit"
	TooLong         Verdict = "max-model-len-above-model"
	FreeMemory      Verdict = "not-enough-free-memory"
	NotCovered      Verdict = "not-covered"
	BootOOMRisk     Verdict = "boot-oom-risk"  // the budget fits, the boot peak beyond it may not
	EngineRefuses   Verdict = "engine-refuses" // vLLM raises on the configuration at startup, whatever the memory
	Unknown         Verdict = "unknown"
)

// Failing reports whether vLLM would fail to start with this verdict.
func (v Verdict) Failing() bool {
	switch v {
	case KVTooSmall, NoKVMemory, WeightsTooLarge, TooLong, FreeMemory, EngineRefuses:
		return true
	}
	return false
}

// Input is everything one engine's estimate depends on.
type Input struct {
	Model Model
	// Draft is the separate draft model of speculative decoding when its
	// config.json was found (nil: the catalog is asked, else it is unknown).
	Draft   *Model
	Args    vllm.Args
	GPUs    []gpu.GPU // the GPUs the engine runs on, one per rank (TP × PP)
	Version string    // vLLM version, e.g. "0.11.0"; decides defaults and graph accounting
	Environ map[string]string
	// Install is how vLLM is installed (its image, a pip wheel): it decides
	// which optional kernels exist where the release alone does not.
	Install Install
	Live    bool // GPUs were measured now: check free memory
	// NoGPUWhy says why GPUs is empty when an inventory exists but none of
	// its GPUs could be given to this engine; empty means no inventory.
	NoGPUWhy string
	// CompileCacheDir is where the engine's vLLM keeps its compile cache
	// (VLLM_CACHE_ROOT, else /root/.cache/vllm) and CompileCacheMounted
	// whether a volume holds it; "" when the plan does not know the service
	// (no note about the cold compile's cause).
	CompileCacheDir     string
	CompileCacheMounted bool
}

// Line is one figure of the estimate with how it was computed.
type Line struct {
	Name    string  `json:"name"`
	GiB     float64 `json:"gib"`
	Formula string  `json:"formula"`
}

// Rank is the estimate for one GPU.
type Rank struct {
	Rank           int     `json:"rank"`
	GPU            string  `json:"gpu"`
	TotalGiB       float64 `json:"total_gib"`
	FreeGiB        float64 `json:"free_gib"`
	Budget         float64 `json:"budget_gib"`
	Weights        float64 `json:"weights_gib"`
	Activation     float64 `json:"activation_peak_gib"`
	NonTorch       float64 `json:"non_torch_gib"`
	Graphs         float64 `json:"cuda_graphs_gib"`
	GraphsInBudget bool    `json:"cuda_graphs_in_budget"`
	KV             float64 `json:"kv_cache_gib"`
}

// Result is the estimate for one engine.
type Result struct {
	Model         string  `json:"model"`
	ModelSource   string  `json:"model_source"`
	Release       string  `json:"vllm_version,omitempty"` // the engine's vLLM release; "" when unknown (0.11.0's rules apply)
	Install       Install `json:"install,omitempty"`      // how vLLM is installed (image, pip), where it decides a rule
	TP            int     `json:"tensor_parallel_size"`
	PP            int     `json:"pipeline_parallel_size"`
	MaxModelLen   int     `json:"max_model_len"`
	Derived       bool    `json:"max_model_len_derived,omitempty"`
	Utilization   float64 `json:"gpu_memory_utilization"`
	KVDTypeBytes  int     `json:"kv_dtype_bytes"`
	WeightBits    float64 `json:"weight_bits"`
	BatchedTokens int     `json:"max_num_batched_tokens"`
	// ColdCompile is the part of each rank's activation that a cold
	// torch.compile adds (ColdCompileSince); a start with a warm compile
	// cache has it as KV cache.
	ColdCompile float64 `json:"cold_compile_gib,omitempty"`
	// EncoderNotSized says why a multimodal model's profile run of its
	// encoder is not in the activation peak (the plan's KV figure is then
	// an upper bound); "" when it is sized, skipped, or the model is text.
	EncoderNotSized string   `json:"encoder_not_sized,omitempty"`
	BytesPerToken   int      `json:"kv_bytes_per_token_per_rank"`
	KVDType         string   `json:"kv_cache_dtype,omitempty"`                // the dtype assumed for the KV cache
	Layout          *Layout  `json:"kv_layout,omitempty"`                     // vLLM's KV cache groups on one rank
	LayerMix        string   `json:"layer_mix,omitempty"`                     // "12 full_attention + 36 linear_attention"
	TokensFormula   string   `json:"kv_tokens_formula,omitempty"`             // how vLLM of this release prints "GPU KV cache size"
	TokensBlocks    int      `json:"kv_tokens_blocks_formula,omitempty"`      // num_blocks ÷ groups × block (vLLM ≤ 0.19)
	TokensConc      int      `json:"kv_tokens_concurrency_formula,omitempty"` // concurrency × max_model_len (vLLM ≥ 0.20)
	OutsideGiB      float64  `json:"outside_budget_gib,omitempty"`            // memory used beyond total × utilization at boot
	OutsideHighGiB  float64  `json:"outside_budget_high_gib,omitempty"`       // the high end of that (MoE scratch is a measured range)
	BootRoomGiB     float64  `json:"boot_room_gib"`                           // free (or total) memory beside the budget on the worst GPU
	Ranks           []Rank   `json:"ranks"`
	KVAvailGiB      float64  `json:"kv_available_gib"` // vLLM's "Available KV cache memory" of the worst rank
	KVBlocks        int      `json:"kv_blocks"`
	KVTokens        int      `json:"kv_cache_tokens"`
	Concurrency     float64  `json:"max_concurrency"`
	NeedGiB         float64  `json:"kv_needed_for_one_request_gib"`
	MaxFittingLen   int      `json:"largest_fitting_max_model_len,omitempty"`
	UtilToFit       float64  `json:"utilization_to_fit,omitempty"`
	Verdict         Verdict  `json:"verdict"`
	NoPrediction    string   `json:"no_prediction,omitempty"` // why there is no KV figure, when there is none
	Reasons         []string `json:"reasons,omitempty"`
	Fixes           []string `json:"fixes,omitempty"`
	Notes           []string `json:"notes,omitempty"`
	Explain         []Line   `json:"explain,omitempty"`
}

// Estimate computes the plan for one engine. It needs the model's
// architecture; GPUs may be empty (then only per-token figures are given).
func Estimate(in Input) Result {
	a := in.Args
	m := in.Model
	r := Result{Model: a.Model, ModelSource: m.Source, TP: max(1, a.TensorParallelSize), PP: max(1, a.PipelineParallelSize),
		Utilization: a.GPUMemoryUtilization, MaxModelLen: a.MaxModelLen, Release: in.Version, Install: in.Install}
	expl := func(name string, v float64, f string, args ...any) {
		r.Explain = append(r.Explain, Line{Name: name, GiB: round2(v), Formula: fmt.Sprintf(f, args...)})
	}
	version := parseVersion(in.Version)
	// Context length: the flag, else what the model config allows.
	maxPos := m.MaxPositions
	factor := ropeFactor(a.RopeScaling)
	allowed := int(float64(maxPos) * factor)
	if r.MaxModelLen == 0 {
		r.MaxModelLen, r.Derived = allowed, true
	}
	if r.MaxModelLen <= 0 {
		r.Verdict = Unknown
		r.NoPrediction = "the model's max_position_embeddings is not known here: pass --max-model-len, or --model-config with the model's config.json"
		r.Notes = append(r.Notes, r.NoPrediction)
		return r
	}
	if maxPos > 0 && r.MaxModelLen > allowed && in.Environ["VLLM_ALLOW_LONG_MAX_MODEL_LEN"] != "1" {
		r.Verdict = TooLong
		r.Reasons = append(r.Reasons, fmt.Sprintf("--max-model-len %s is above the model's %s positions%s: vLLM stops with `User-specified max_model_len (%d) is greater than the derived max_model_len`",
			vllm.Commas(r.MaxModelLen), vllm.Commas(allowed), ropeNote(factor), r.MaxModelLen))
		r.Fixes = append(r.Fixes, fmt.Sprintf("lower --max-model-len to %d", allowed))
		if factor == 1 {
			r.Fixes = append(r.Fixes, fmt.Sprintf(`or declare RoPE scaling: --rope-scaling '{"rope_type":"yarn","factor":%g,"original_max_position_embeddings":%d}'`, math.Ceil(float64(r.MaxModelLen)/float64(maxPos)), maxPos))
		}
	}
	// The KV cache layout on one rank (vllm/v1/core/kv_cache_utils.py).
	kvb, kvName, kvNote := kvDTypeBytes(a.KVCacheDType, a.DType, m)
	r.KVDType = kvName
	if kvNote != "" {
		r.Notes = append(r.Notes, kvNote)
	}
	r.KVDTypeBytes = int(math.Round(kvb)) // the value bytes (per-token-head scales and nvfp4 block scales round away)
	spec := speculative(a, m, in.Draft, r.TP, version)
	r.Notes = append(r.Notes, spec.notes...)
	r.BatchedTokens = a.MaxNumBatchedTokens
	minTotal := math.Inf(1)
	for _, g := range in.GPUs {
		minTotal = math.Min(minTotal, g.CUDATotalGiB())
	}
	if r.BatchedTokens == 0 {
		r.BatchedTokens = 2048
		if len(in.GPUs) > 0 && minTotal >= Overheads.LargeGPUGiB && !(version >= 0.09 && isA100(in.GPUs[0])) {
			r.BatchedTokens = 8192
			if version >= HugeGPUBatchedSince && minTotal >= HugeGPUGiB {
				r.BatchedTokens = 16384
			}
		}
		if f := mmBatchedFloor(m, a, version); r.BatchedTokens < f {
			r.Notes = append(r.Notes, fmt.Sprintf("vLLM raises max_num_batched_tokens from %s to %s, the largest multimodal item (a video of 32 frames; PR #43051, from 0.22): `Raising max_num_batched_tokens from %d to %d`", vllm.Commas(r.BatchedTokens), vllm.Commas(f), r.BatchedTokens, f))
			r.BatchedTokens = f
		}
		if version < 0.08 { // V0 without chunked prefill profiled a whole max_model_len
			r.BatchedTokens = max(r.MaxModelLen, 2048)
			if on, why := v0ChunkedPrefill(a, m, r.MaxModelLen, spec, version); on {
				r.BatchedTokens = V0ChunkedBatchedTokens
				r.Notes = append(r.Notes, fmt.Sprintf("chunked prefill is on (%s): the V0 engine profiles %d batched tokens (`Chunked prefill is enabled with max_num_batched_tokens=%d`)", why, V0ChunkedBatchedTokens, V0ChunkedBatchedTokens))
			}
		}
	}
	li := layoutInput{TP: r.TP, PP: r.PP, KVBytes: kvb, ModelBytes: modelDTypeBytes(a.DType), SSMBytes: modelDTypeBytes(a.DType),
		MaxModelLen: r.MaxModelLen, BatchedTokens: r.BatchedTokens, SpecTokens: spec.tokens, MTPLayers: spec.mtpLayers,
		Draft: spec.draft, DraftTP: spec.draftTP, InFlight: inFlightTokens(a, r.BatchedTokens, r.PP, version)}
	if a.IsSet("block-size") {
		li.BlockSize = a.BlockSize
	}
	if m.SSMDType == "float32" || flagValue(a, "mamba-ssm-cache-dtype") == "float32" {
		li.SSMBytes = 4
	}
	hybridFlag, _ := flagOn(a, "disable-hybrid-kv-cache-manager")
	li.NoHybrid = hybridFlag || version < HybridAllocatorSince
	chunkedOff := !li.NoHybrid && m.AttentionChunk > 0 && (spec.hiddenStates || !chunkedHybrid(version, in.Environ))
	li.NoHybrid = li.NoHybrid || chunkedOff
	prefix := true
	if arg, ok := a.Lookup("enable-prefix-caching"); ok && arg.Negated {
		prefix = false
	}
	li.MambaAlign = prefix && version >= MambaAlignSince
	r.LayerMix = m.kindsSummary()
	lo, err := m.layout(li)
	if err != nil {
		r.Verdict = NotCovered
		r.NoPrediction = fmt.Sprintf("%s: %v; no KV figure is given rather than a wrong one", r.LayerMix, err)
		r.Notes = append(r.Notes, r.NoPrediction)
		return r
	}
	r.Layout = &lo
	if li.NoHybrid && m.Hybrid() && slices.ContainsFunc(m.layerKinds(), func(k LayerKind) bool { return k == LayerSliding }) {
		why := "--disable-hybrid-kv-cache-manager"
		if !hybridFlag {
			why = fmt.Sprintf("releases before %.2f have no hybrid allocator", HybridAllocatorSince)
		}
		r.Notes = append(r.Notes, "sliding-window layers are sized as full attention ("+why+")")
	}
	if li.NoHybrid && slices.Contains(m.layerKinds(), LayerChunked) {
		why := "--disable-hybrid-kv-cache-manager"
		switch {
		case chunkedOff && spec.hiddenStates:
			why = "vLLM turns the hybrid allocator off for chunked local attention with an EAGLE-style draft"
		case chunkedOff:
			why = fmt.Sprintf("vLLM turns the hybrid allocator off for chunked local attention unless VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE=1, the default from %.2f", ChunkedHybridSince)
		case !hybridFlag:
			why = fmt.Sprintf("releases before %.2f have no hybrid allocator", HybridAllocatorSince)
		}
		r.Notes = append(r.Notes, "chunked local-attention layers are sized as full attention ("+why+")")
	}
	perTok := int64(0)
	for _, g := range lo.Groups {
		if g.BlockSize > 0 && g.Window == 0 && g.Chunk == 0 {
			perTok += int64(g.Layers) * g.RealPage / int64(g.BlockSize)
		}
	}
	r.BytesPerToken = int(perTok)
	if len(in.GPUs) == 0 {
		f := lo.figures(0, li)
		r.NeedGiB = round2(float64(f.NeedBytes) / gib)
		if r.Verdict == "" {
			r.Verdict = Unknown
		}
		r.NoPrediction = in.NoGPUWhy
		if r.NoPrediction == "" {
			r.NoPrediction = "no GPU inventory: pass --gpu \"RTX 4090\" --gpus N, declare gpus: in vllmctl.yaml, or run where nvidia-smi works"
		}
		r.Notes = append(r.Notes, r.NoPrediction)
		return r
	}
	// Weights per rank: every expert is resident; TP (and EP, which spreads the
	// same experts over the same ranks) divides them, PP splits the layers.
	quant := a.Quantization
	if quant == "" {
		quant = m.CheckpointQ
	}
	bitsQuant, ctNote := storedQuant(m, a.Model, quant)
	if ctNote != "" {
		r.Notes = append(r.Notes, ctNote)
	}
	wBytes, bits := weightBytes(m, bitsQuant, a.DType)
	r.WeightBits = bits
	wBytes += spec.weightBytes
	weights := wBytes/float64(r.TP*r.PP)/gib + spec.rankBytes/gib
	padNote := ""
	if quant == "mxfp4" {
		k := mxfp4KernelFor(in.GPUs[0], version)
		if pad := mxfp4PaddingBytes(m, k, r.TP, r.PP); pad > 0 {
			weights += pad / gib
			padNote = fmt.Sprintf(" + %.2f GiB %s padding of the MXFP4 experts (hidden %d → %d, expert intermediate per rank %d → %d)",
				pad/gib, k.Backend, m.Hidden, roundUp(m.Hidden, k.HiddenAlign), m.ExpertFFN/r.TP, roundUp(m.ExpertFFN/r.TP, k.InterAlign))
		}
		r.Notes = append(r.Notes, "MXFP4 experts: "+k.Why)
	}
	ffn := float64(m.Intermediate) / float64(r.TP)
	ffnNote := ""
	if m.Intermediate == 0 {
		ffn = 4 * float64(m.Hidden) / float64(r.TP)
		ffnNote = " (intermediate_size not in the config: 4 × hidden assumed)"
	}
	act := float64(r.BatchedTokens) * ffn * Overheads.ActivationBytesPerTokenPerFFN / gib
	if quant == "bitsandbytes" {
		act += Overheads.BnBWorkspaceGiB
	}
	actFormula := fmt.Sprintf("%s batched tokens × %s FFN/rank × %g B%s", vllm.Commas(r.BatchedTokens), vllm.Commas(int(ffn)), Overheads.ActivationBytesPerTokenPerFFN, ffnNote)
	// A MoE layer's peak is its fused-MoE buffers; a model whose layers all
	// route has no dense FFN to size, one with dense layers (first_k_dense)
	// peaks at the larger of the two.
	if moe, how := moeActivation(m, moeKernelFor(quant, in.GPUs[0], version), r.BatchedTokens, r.TP, in.Environ); moe > 0 {
		allMoE := m.MoELayers == 0 || m.MoELayers >= m.Layers
		if moe /= gib; allMoE || moe > act {
			act, actFormula = moe, how
			if quant == "bitsandbytes" {
				act += Overheads.BnBWorkspaceGiB
			}
		}
	}
	// The profile's sampler warm-up follows the forward pass: the peak is the larger.
	seqs := defaultMaxNumSeqs(a, in.GPUs, minTotal, version)
	samp, sampFormula, sampNote, sampOther := samplerWarmup(seqs, r.BatchedTokens, m.Vocab, in.Version, in.Environ, in.Install, in.GPUs[0])
	runnerV2, runnerWhy := modelRunnerV2(m, a, version, in.Environ)
	runnerV2Held := 0.0 // Model Runner V2's output_bin_counts, held through the whole run
	// With PP > 1 the sampler runs on the last stage only; the first stage
	// planned here keeps the V1 sampler figure, which a 0.27.1 PP 2 log
	// (3.03 GiB on stage 0) does not contradict.
	if runnerV2 && m.Vocab > 0 && r.PP == 1 {
		// Model Runner V2's dummy sampler leaves top-k/top-p out (its slots
		// keep top_k = vocabulary): the peak is the logits and their float32
		// copy; its output_bin_counts table stays allocated through the run.
		rows := float64(min(seqs, max(r.BatchedTokens, 1)))
		samp = rows * float64(m.Vocab) * RunnerV2SamplerBytesPerLogit / gib
		held := float64(seqs) * float64(m.Vocab) * 4 / gib
		sampFormula = fmt.Sprintf("Model Runner V2's dummy sampler (%s): min(max_num_seqs %s, batched tokens %s) × vocabulary %s × %g B (bf16 logits and a float32 copy; top-k/top-p skipped)",
			runnerWhy, vllm.Commas(seqs), vllm.Commas(r.BatchedTokens), vllm.Commas(m.Vocab), RunnerV2SamplerBytesPerLogit)
		if samp > act {
			act, actFormula = samp, sampFormula+", above the forward pass"
		}
		runnerV2Held = held
	} else {
		if sampNote != "" && max(samp, sampOther) > act+0.25 {
			r.Notes = append(r.Notes, sampNote)
		}
		if samp > act {
			act, actFormula = samp, sampFormula+", above the forward pass"
		}
	}
	// A multimodal model's profile runs the encoder first and keeps its
	// embeddings through the text run and the sampler warm-up.
	enc := estimateEncoder(m, a, r.BatchedTokens, seqs, r.MaxModelLen, r.TP, in.Version)
	if m.Multimodal && !enc.Modelled && enc.Skipped == "" {
		r.EncoderNotSized = firstNonEmpty(enc.Why, "this tower's (or this release's) encoder profile run is not modelled")
	}
	r.Notes = append(r.Notes, unreadableMMFlags(a)...)
	if enc.Modelled {
		if text := act + enc.HeldGiB; enc.PeakGiB > text {
			act, actFormula = enc.PeakGiB, enc.Formula+fmt.Sprintf(", above the text run (%.2f GiB with the held embeddings)", text)
		} else {
			act, actFormula = text, actFormula+fmt.Sprintf(" + %.2f GiB of encoder embeddings held from the profile's encoder run (%s)", enc.HeldGiB, enc.Formula)
		}
	}
	if runnerV2Held > 0 {
		act += runnerV2Held
		actFormula += fmt.Sprintf(" + Model Runner V2's output_bin_counts, max_num_seqs × vocabulary × 4 B = %.2f GiB, held", runnerV2Held)
	}
	if cold, why := coldCompile(m, a, version); cold > 0 {
		r.ColdCompile = cold
		switch {
		case in.CompileCacheDir == "":
		case in.CompileCacheMounted:
			r.Notes = append(r.Notes, fmt.Sprintf("a volume holds vLLM's compile cache (%s): the first start of this configuration compiles cold, %.2f GiB less KV cache (counted here); restarts load the compiled graphs and get it back", in.CompileCacheDir, cold))
		default:
			r.Notes = append(r.Notes, fmt.Sprintf("no volume holds vLLM's compile cache (%s): every start compiles cold, %.2f GiB less KV cache (counted here) and the compile time; mount a volume there and restarts get both back", in.CompileCacheDir, cold))
		}
		act += cold
		actFormula += fmt.Sprintf(" + %.2f GiB of cold torch.compile temporaries (%s)", cold, why)
	}
	nonTorch := Overheads.NonTorchGiB
	if r.TP*r.PP > 1 {
		nonTorch += Overheads.NonTorchTPGiB
	}
	layersPerRank := int(math.Ceil(float64(m.Layers) / float64(r.PP)))
	share, shareWhy := graphShare(a, seqs, r.BatchedTokens, version)
	graphs := Overheads.GraphGiBPer28Layers * float64(layersPerRank) / 28 * share
	graphsHow := fmt.Sprintf("%.2f GiB per 28 layers × %d layers", Overheads.GraphGiBPer28Layers, layersPerRank)
	if shareWhy != "" {
		graphsHow += fmt.Sprintf(" × %.2f (%s)", share, shareWhy)
	}
	graphsIn := version >= GraphEstimateSince && in.Environ["VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS"] != "0"
	if graphsIn && runnerV2 && version < RunnerV2GraphEstimateSince {
		graphsIn = false
		r.Notes = append(r.Notes, fmt.Sprintf("CUDA graphs are not in vLLM's KV budget here: %s, whose profile_cudagraph_memory() returns 0 before %.2f (vllm#49224, fixed by PR #53306); the graphs are captured after the KV cache and must fit beside the budget", runnerWhy, RunnerV2GraphEstimateSince))
	}
	minKV := math.Inf(1)
	for i := 0; i < r.TP*r.PP; i++ {
		g := in.GPUs[i%len(in.GPUs)]
		total := g.CUDATotalGiB()
		rk := Rank{Rank: i, GPU: fmt.Sprintf("%d %s", g.Index, g.Name), TotalGiB: round2(total), FreeGiB: round2(g.FreeGiB()),
			Budget: total * r.Utilization, Weights: weights, Activation: act, NonTorch: nonTorch, Graphs: graphs, GraphsInBudget: graphsIn}
		rk.KV = rk.Budget - weights - act - nonTorch
		if graphsIn {
			rk.KV -= graphs
		}
		minKV = math.Min(minKV, rk.KV)
		r.Ranks = append(r.Ranks, rk)
		if (in.Live || g.HeldMiB > 0) && g.FreeGiB() < rk.Budget && r.Verdict == "" {
			r.Verdict = FreeMemory
			r.Reasons = append(r.Reasons, fmt.Sprintf("GPU %d has %.2f GiB free now, below %.2f × %.2f = %.2f GiB: vLLM stops with `Free memory on device ... is less than desired GPU memory utilization`",
				g.Index, g.FreeGiB(), total, r.Utilization, rk.Budget))
			for _, p := range g.Processes {
				r.Reasons = append(r.Reasons, fmt.Sprintf("  held by %s (pid %d): %s MiB", p.Name, p.PID, vllm.Commas(int(p.UsedMiB))))
			}
			if g.HeldMiB > 0 {
				r.Reasons = append(r.Reasons, fmt.Sprintf("  held by %s: %s MiB (vllmctl.yaml gpus: held)", orWord(g.HeldBy, "something else"), vllm.Commas(int(g.HeldMiB))))
			}
			r.Fixes = append(r.Fixes, fmt.Sprintf("lower --gpu-memory-utilization to %.2f, or free the GPU", math.Floor(g.FreeGiB()/total*100)/100))
		}
	}
	spread := Overheads.RankSpreadGiB * float64(r.TP*r.PP-1)
	kvAvail := minKV - spread
	rank0 := r.Ranks[0]
	totalNote := ""
	if g := in.GPUs[0]; !g.Declared && g.UsedMiB+g.FreeMiB > 0 && g.UsedMiB+g.FreeMiB < g.TotalMiB {
		totalNote = fmt.Sprintf(" (CUDA's total: nvidia-smi %s MiB less %s MiB the driver reserves)", vllm.Commas(int(g.TotalMiB)), vllm.Commas(int(g.TotalMiB-g.UsedMiB-g.FreeMiB)))
	}
	expl("budget", rank0.Budget, "total %.2f GiB%s × gpu_memory_utilization %.2f", rank0.TotalGiB, totalNote, r.Utilization)
	wf := fmt.Sprintf("%.2fB params at %.2f bits (embeddings 16-bit)", m.ParamsB, bits)
	if m.Experts > 0 {
		wf = fmt.Sprintf("%.2fB params, all %d experts resident, at %.2f bits (embeddings 16-bit)", m.ParamsB, m.Experts, bits)
	}
	if spec.weightBytes > 0 {
		wf += fmt.Sprintf(" + %.2f GiB %s", spec.weightBytes/gib, spec.weightWhat)
	}
	draftW := ""
	if spec.rankBytes > 0 {
		draftW = fmt.Sprintf(" + %.2f GiB %s", spec.rankBytes/gib, spec.weightWhat)
	}
	expl("weights", weights, "%s ÷ TP %d × PP %d%s%s", wf, r.TP, r.PP, padNote, draftW)
	expl("activation peak", act, "%s", actFormula)
	expl("non-torch", nonTorch, "cuBLAS workspace and allocations outside PyTorch since vLLM's first snapshot%s", map[bool]string{true: ", NCCL buffers", false: ""}[r.TP*r.PP > 1])
	if graphsIn {
		expl("CUDA graphs", graphs, "%s, subtracted since v0.20 (PR #38284; vLLM logs \"default since v0.21.0\")", graphsHow)
	} else {
		expl("CUDA graphs (outside budget)", graphs, "%s; not counted by the profiler (before v0.20, VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=0, or Model Runner V2 before 0.29): must fit in (1 − util) × total", graphsHow)
	}
	expl("KV cache", kvAvail, "budget − weights − activation − non-torch%s − rank spread %.2f (min over ranks)", map[bool]string{true: " − graphs", false: ""}[graphsIn], spread)
	r.KVAvailGiB = round2(kvAvail)
	availBytes := int64(0)
	if kvAvail > 0 {
		availBytes = int64(kvAvail * gib)
	}
	f := lo.figures(availBytes, li)
	r.KVBlocks = f.Blocks
	r.TokensBlocks, r.TokensConc = f.TokensOld, f.TokensNew
	if version >= ConcurrencyTokensSince {
		r.KVTokens = f.TokensNew
		r.TokensFormula = fmt.Sprintf("int(concurrency × max_model_len), as vLLM prints it from %.2f (PR #41069)", ConcurrencyTokensSince)
	} else {
		r.KVTokens = f.TokensOld
		r.TokensFormula = "num_blocks ÷ KV cache groups × block size, as vLLM prints it up to 0.19"
	}
	if !lo.Hybrid && len(lo.Groups) == 1 && lo.Groups[0].Kind != LayerSliding {
		r.TokensFormula = "num_blocks × block size"
	}
	r.Concurrency = f.Concurrency
	r.NeedGiB = float64(f.NeedBytes) / gib
	r.MaxFittingLen = f.MaxLen
	nonKV := rank0.Budget - rank0.KV + spread
	r.UtilToFit = math.Ceil((nonKV+r.NeedGiB)/minTotal*100) / 100
	for _, d := range lo.describe() {
		expl("KV group", 0, "%s", d)
	}
	for _, n := range lo.Notes {
		expl("KV page", 0, "%s", n)
	}
	if lo.BlockBytes > 0 {
		expl("KV blocks", 0, "floor(%s B available ÷ %s B per block over %d layers) = %s blocks; a request of %s tokens holds %s blocks",
			vllm.Commas(int(availBytes)), vllm.Commas(int(lo.BlockBytes)), lo.GroupSize, vllm.Commas(f.Blocks), vllm.Commas(r.MaxModelLen), vllm.Commas(lo.PerRequest))
	} else {
		expl("KV blocks", 0, "floor(%s B available ÷ %s B page ÷ %d tensors) = %s blocks; a request of %s tokens holds %s blocks",
			vllm.Commas(int(availBytes)), vllm.Commas(int(lo.PageBytes)), lo.GroupSize, vllm.Commas(f.Blocks), vllm.Commas(r.MaxModelLen), vllm.Commas(lo.PerRequest))
	}
	if len(lo.Groups) == 1 && lo.Groups[0].Kind == LayerFull {
		kvh := max(1, m.KVHeads/r.TP)
		expl("KV bytes per token", float64(r.BytesPerToken)/gib, "2 × %d layers × %d KV heads/rank × head_dim %d × %g B = %s B", lo.Groups[0].Layers, kvh, m.HeadDim, kvb, vllm.Commas(r.BytesPerToken))
	} else {
		expl("KV bytes per token", float64(r.BytesPerToken)/gib, "%s B per token over the full-attention layers of one rank (%s KV, %g B per element)", vllm.Commas(r.BytesPerToken), kvName, kvb)
	}
	if lo.BlockBytes > 0 {
		expl("one request of max_model_len", r.NeedGiB, "%s blocks × %s B per block", vllm.Commas(lo.PerRequest), vllm.Commas(int(lo.BlockBytes)))
	} else {
		expl("one request of max_model_len", r.NeedGiB, "%s blocks × %s B page × %d tensors", vllm.Commas(lo.PerRequest), vllm.Commas(int(lo.PageBytes)), lo.GroupSize)
	}
	if r.Verdict == "" {
		room := loadRoom(in)
		switch {
		case weights+act+nonTorch > room:
			r.Verdict = WeightsTooLarge
			r.Reasons = append(r.Reasons, fmt.Sprintf("weights take %.2f GiB per GPU and the profile run %.2f GiB more, above the %.2f GiB the GPU has (beside the CUDA context): vLLM fails with CUDA out of memory while loading or profiling", weights, act+nonTorch, room))
			r.Fixes = append(r.Fixes, weightFixes(m, a, quant, wBytes, minTotal, r.Utilization, act+nonTorch+map[bool]float64{true: graphs}[graphsIn], r.NeedGiB*float64(r.TP))...)
		case weights > rank0.Budget:
			// The utilization caps only the profile's arithmetic: the weights
			// load, then nothing is left for the cache.
			r.Verdict = NoKVMemory
			r.Reasons = append(r.Reasons, fmt.Sprintf("weights take %.2f GiB per GPU, above the %.2f GiB budget (total × --gpu-memory-utilization): vLLM loads them, then stops with `No available memory for the cache blocks` (%.2f GiB for the KV cache)", weights, rank0.Budget, kvAvail))
			if r.UtilToFit > 0 && r.UtilToFit <= 0.95 {
				r.Fixes = append(r.Fixes, fmt.Sprintf("raise --gpu-memory-utilization to %.2f if the GPU has the room", r.UtilToFit))
			}
			r.Fixes = append(r.Fixes, weightFixes(m, a, quant, wBytes, minTotal, r.Utilization, act+nonTorch+map[bool]float64{true: graphs}[graphsIn], r.NeedGiB*float64(r.TP))...)
		case kvAvail <= 0:
			r.Verdict = NoKVMemory
			r.Reasons = append(r.Reasons, fmt.Sprintf("nothing is left for the KV cache (%.2f GiB): vLLM stops with `No available memory for the cache blocks`", kvAvail))
			r.Fixes = append(r.Fixes, fmt.Sprintf("raise --gpu-memory-utilization to %.2f if the GPU has the room, quantize, or raise --tensor-parallel-size", math.Min(0.95, r.UtilToFit)))
		case r.NeedGiB > kvAvail:
			r.Verdict = KVTooSmall
			r.Reasons = append(r.Reasons, fmt.Sprintf("one request of %s tokens needs %.2f GiB of KV cache; %.2f GiB is available: vLLM stops with `To serve at least one request with the models's max seq len (%d)...`",
				vllm.Commas(r.MaxModelLen), r.NeedGiB, kvAvail, r.MaxModelLen))
			fix := fmt.Sprintf("lower --max-model-len to %d", r.MaxFittingLen/BlockSize*BlockSize)
			if r.UtilToFit <= 0.98 {
				fix += fmt.Sprintf(" or raise --gpu-memory-utilization to %.2f", r.UtilToFit)
			}
			if kvb > 1 {
				fix += ", or use --kv-cache-dtype fp8 (halves KV bytes)"
			}
			r.Fixes = append(r.Fixes, fix)
		case (kvAvail-r.NeedGiB)/kvAvail < Overheads.HeadroomWarn || r.Concurrency < 1.1:
			r.Verdict = FitsTight
			r.Reasons = append(r.Reasons, fmt.Sprintf("fits with %.0f%% KV headroom (%.2fx concurrency at %s tokens)", 100*(kvAvail-r.NeedGiB)/kvAvail, r.Concurrency, vllm.Commas(r.MaxModelLen)))
		default:
			r.Verdict = Fits
		}
	}
	r.Reasons = append(r.Reasons, spec.basis...)
	// What lives outside total × utilization at boot: this process's CUDA
	// context (created before vLLM's first memory snapshot, so never in the
	// budget), CUDA graphs the profiler does not count, MoE kernel scratch
	// buffers. The peak must fit in the memory that is physically free.
	outside := Overheads.CUDAContextGiB
	outsideParts := []string{fmt.Sprintf("CUDA context %.2f", Overheads.CUDAContextGiB)}
	if !graphsIn && graphs > 0 {
		outside += graphs
		outsideParts = append(outsideParts, fmt.Sprintf("CUDA graphs %.2f (not profiled)", graphs))
	}
	outsideHigh := outside
	if (m.Experts > 0 || m.Kind == "moe") && share > 0 {
		// Measured as the whole boot peak above the budget (context and graphs
		// of that deployment included), at the default capture sizes: take it
		// where it is larger. vLLM allocates nothing for the experts after the
		// profile run but what graph capture does, so beyond the context it
		// scales with the graphs captured, and --enforce-eager has none.
		low := Overheads.CUDAContextGiB + share*(Overheads.MoEScratchGiB-Overheads.CUDAContextGiB)
		high := Overheads.CUDAContextGiB + share*(Overheads.MoEScratchHighGiB-Overheads.CUDAContextGiB)
		if outside < low {
			outsideParts = append(outsideParts, fmt.Sprintf("MoE kernel buffers %.2f–%.2f", low-outside, high-outside))
			outside = low
		}
		outsideHigh = max(outside, high)
	}
	r.OutsideGiB = round2(outside)
	r.OutsideHighGiB = round2(outsideHigh)
	span := fmt.Sprintf("%.2f", outside)
	if outsideHigh > outside {
		span = fmt.Sprintf("%.2f–%.2f", outside, outsideHigh)
	}
	expl("outside the budget", outsideHigh, "%s GiB: %s, allocated beside the budget at boot", span, strings.Join(outsideParts, " + "))
	// Room beyond the budget: free memory (live, or total less what the
	// settings say something else holds) less the budget, on the worst GPU.
	room, free, known := math.Inf(1), math.Inf(1), false
	var heldBy []string
	for _, g := range in.GPUs[:min(len(in.GPUs), r.TP*r.PP)] {
		f := g.CUDATotalGiB()
		if in.Live || g.HeldMiB > 0 {
			f, known = g.FreeGiB(), true
		}
		if g.HeldMiB > 0 {
			heldBy = append(heldBy, fmt.Sprintf("GPU %d: %.2f GiB held by %s", g.Index, float64(g.HeldMiB)/1024, orWord(g.HeldBy, "something else")))
		}
		room = math.Min(room, f-g.CUDATotalGiB()*r.Utilization)
		free = math.Min(free, f)
	}
	r.BootRoomGiB = round2(room)
	expl("room beside the budget", room, "%s − budget (worst GPU)%s", map[bool]string{true: "free memory", false: "total"}[known], joinPrefixed("; ", heldBy))
	safeUtil := math.Floor((free-outsideHigh-Overheads.BootMarginGiB)/minTotal*100) / 100
	if r.Verdict == FreeMemory && len(r.Fixes) > 0 {
		r.Fixes[len(r.Fixes)-1] = fmt.Sprintf("lower --gpu-memory-utilization to %.2f (the free memory less %s GiB allocated beside the budget at boot), or free the GPU", safeUtil, span)
	}
	if outsideHigh > room && !r.Verdict.Failing() {
		where := "(1 − util) × total"
		if known {
			where = "the free memory left beside the budget"
		}
		r.Verdict = BootOOMRisk
		r.Reasons = append(r.Reasons, fmt.Sprintf("about %s GiB is allocated outside the budget (%s), more than %s (%.2f GiB): vLLM can die with CUDA out of memory at boot although the budget fits, and a restart policy turns that into a crash loop",
			span, strings.Join(outsideParts, ", "), where, room))
		r.Reasons = append(r.Reasons, heldBy...)
		fix := fmt.Sprintf("lower --gpu-memory-utilization to %.2f", safeUtil)
		if !a.EnforceEager && !graphsIn && graphs > 0 {
			fix += ", or use --enforce-eager"
		}
		r.Fixes = append(r.Fixes, fix)
	}
	if m.Multimodal {
		r.Notes = append(r.Notes, multimodalNote(a, m, enc))
	}
	for i := range r.Ranks {
		rk := &r.Ranks[i]
		rk.Budget, rk.Weights, rk.Activation, rk.NonTorch, rk.Graphs, rk.KV = round2(rk.Budget), round2(rk.Weights), round2(rk.Activation), round2(rk.NonTorch), round2(rk.Graphs), round2(rk.KV)
	}
	r.ColdCompile = round2(r.ColdCompile)
	if len(spec.refused) > 0 {
		// The memory verdict stands in the figures; vLLM never gets there.
		r.Verdict = EngineRefuses
		r.Fixes = append(spec.fixes, r.Fixes...)
	}
	r.NeedGiB = round2(r.NeedGiB)
	r.Concurrency = math.Floor(r.Concurrency*100) / 100
	return r
}

// V0ChunkedBatchedTokens is the V0 engine's max_num_batched_tokens when chunked
// prefill is on and the flag is not written (its logs: "Chunked prefill is
// enabled with max_num_batched_tokens=512", 0.6 and 0.7).
const V0ChunkedBatchedTokens = 512

// V0LongContextChunkedSince: the V0 engine turns chunked prefill on by itself
// for models whose max_model_len is above 32K ("Chunked prefill is enabled by
// default for models with max_model_len > 32K", arg_utils.py, from 0.5).
const V0LongContextChunkedSince = 0.05

// v0ChunkedPrefill tells whether the V0 engine runs chunked prefill, and why:
// --enable-chunked-prefill as written, else on for a max_model_len above
// 32,768 unless the model has sliding-window or state (Mamba, linear
// attention) layers, or speculative decoding, LoRA, prompt adapters or prefix
// caching are on (EngineArgs.create_engine_config of 0.6–0.7).
func v0ChunkedPrefill(a vllm.Args, m Model, maxModelLen int, spec specDecode, version float64) (bool, string) {
	if on, written := flagOn(a, "enable-chunked-prefill"); written {
		return on, "--enable-chunked-prefill"
	}
	if version < V0LongContextChunkedSince || maxModelLen <= 32768 || spec.tokens > 0 || m.SlidingWindow > 0 {
		return false, ""
	}
	for _, f := range []string{"enable-lora", "enable-prompt-adapter", "enable-prefix-caching"} {
		if on, _ := flagOn(a, f); on {
			return false, ""
		}
	}
	for _, k := range m.layerKinds() {
		if k.isState() || k == LayerSliding {
			return false, ""
		}
	}
	return true, fmt.Sprintf("V0 turns it on for a max_model_len of %s, above 32K", vllm.Commas(maxModelLen))
}

// HugeGPUBatchedSince: on GPUs of HugeGPUGiB or more, `vllm serve` defaults to
// 16,384 batched tokens instead of 8,192 (vLLM PR #51726, merged 2026-08-10;
// taken as 0.28, whose third-party notes first show the tier).
const (
	HugeGPUBatchedSince = 0.28
	HugeGPUGiB          = 160
)

// ColdCompileSince is the first release whose profile run is seen to charge
// a cold torch.compile's temporaries as activation: a 0.27.1 RTX 4090 log
// of Qwen3-8B started twice in one container gives 4.92 GiB of KV cache
// cold ("Compiling a graph for compile range (1, 2048) takes 26.37 s",
// peak activation 1.18 GiB) and 5.91 GiB warm ("Directly load AOT
// compilation", 0.19 GiB) — issue 13 rows 93 and 94; vllm#54383 reports it
// on 0.28.0. Older rows show no such excess; the figure is not applied to them.
const ColdCompileSince = 0.27

// ColdCompileFullB is the model size (billions of parameters) from which the
// whole Overheads.ColdCompileGiB applies; smaller models get their share:
// three 0.5B rows of 0.26–0.27 show none of it.
const ColdCompileFullB = 2.0

// coldCompile is what a cold torch.compile adds to the profile peak of
// model m: from ColdCompileSince, unless --enforce-eager or -O0 turns
// torch.compile off.
func coldCompile(m Model, a vllm.Args, version float64) (float64, string) {
	if version < ColdCompileSince || a.EnforceEager {
		return 0, ""
	}
	// -O0 (an alias of --compilation-config, or -O.mode=0) and a JSON mode or
	// level of 0 / NONE compile nothing.
	if flagValue(a, "compilation-config") == "0" {
		return 0, ""
	}
	if cc, _, ok := readCompilationConfig(a); ok {
		for _, x := range []any{cc.Mode, cc.Level} {
			if x == float64(0) || x == "0" || x == "NONE" || x == "none" {
				return 0, ""
			}
		}
	}
	cold := Overheads.ColdCompileGiB
	why := "a first start with an empty compile cache, which vLLM 0.27+ charges as activation: vllm#54383; a restart with a persistent /root/.cache/vllm gets it back as KV"
	if m.ParamsB > 0 && m.ParamsB < ColdCompileFullB {
		cold *= m.ParamsB / ColdCompileFullB
		why += fmt.Sprintf("; %.2f GiB × %.1fB ÷ %gB parameters", Overheads.ColdCompileGiB, m.ParamsB, ColdCompileFullB)
	}
	return cold, why
}

// MMBatchedFloorSince: `vllm serve` raises an unset --max-num-batched-tokens
// to the largest single multimodal item of a prefix-LM model, whose chunked
// multimodal input vLLM turns off (vLLM PR #43051, opened 2026-05-19, fixing
// "Chunked MM input disabled but max_tokens_per_mm_item (2496) is larger than
// max_num_batched_tokens (2048)"; taken as 0.22). For Gemma 4 the largest item
// is a video: 32 frames × (70 + 2 + 6) tokens = Gemma4VideoItemTokens. Its
// 0.25.1 L40S log (12.75 GiB, 321,600 tokens, 9.81x) holds 221 blocks per
// sliding group: cdiv(1,023 + 2,496, 16) + 1.
const (
	MMBatchedFloorSince   = 0.22
	Gemma4VideoItemTokens = 2496
)

// mmBatchedFloor is the batched-token floor of MMBatchedFloorSince for model
// m (0 when none): Gemma 4 with its vision tower, unless the engine serves
// the language model only (--language-model-only: no multimodal item).
func mmBatchedFloor(m Model, a vllm.Args, version float64) int {
	if version < MMBatchedFloorSince || !m.Multimodal || m.GlobalHeadDim == 0 {
		return 0
	}
	if textOnly, _ := flagOn(a, "language-model-only"); textOnly {
		return 0
	}
	return Gemma4VideoItemTokens
}

// SlidingInFlightSince: a sliding-window layer reserves, per request, its
// window plus the tokens in flight — max_concurrent_batches ×
// max_num_batched_tokens, 2 batches under async scheduling (vLLM's default)
// with one pipeline stage, else one per stage — instead of one batch (vLLM PR
// #47728, merged 2026-07-08, after 0.25.1: taken as 0.26, whose Gemma 4 logs
// it reproduces to the token).
const SlidingInFlightSince = 0.26

// inFlightTokens is what a sliding-window layer reserves beyond its window
// for a request on vLLM of version: one batch before SlidingInFlightSince.
func inFlightTokens(a vllm.Args, batched, pp int, version float64) int {
	if version < SlidingInFlightSince {
		return batched
	}
	async, written := flagOn(a, "async-scheduling")
	async = async || !written // on by default
	if pp > 1 {
		return pp * batched
	}
	if async {
		return 2 * batched
	}
	return batched
}

// RunnerV2SamplerBytesPerLogit is what Model Runner V2's profile sampler holds
// per logit at its peak: the bf16 logits and their float32 copy (vllm/v1/
// worker/gpu/model_runner.py; its comment: "the sampler may skip top_k, top_p,
// and logprobs"). With the output_bin_counts table it gives the 1.66 GiB of
// activation and non-torch memory a 0.27.1 log shows for Qwen3-32B at TP 2.
const RunnerV2SamplerBytesPerLogit = 6.0

// Model Runner V2's release boundaries (vllm/config/vllm.py's choice of
// runner): Qwen3 dense models from 0.22 (PR #39337), Llama and Mistral dense
// models from 0.23 (PR #43458), every dense model (no experts, no linear
// attention or Mamba layers) from 0.25 (PR #44443), every model from 0.29 (PR
// #53183), the release whose V2 runner first estimates its CUDA graphs (PR
// #53306): before it the V2 runner's estimate is 0.
const (
	RunnerV2OptInSince         = 0.18 // VLLM_USE_V2_MODEL_RUNNER=1, experimental
	RunnerV2QwenSince          = 0.22
	RunnerV2QuantizedSince     = 0.24 // quantized checkpoints (the 0.25 notes: "building on quantized-model support from the previous release")
	RunnerV2LlamaSince         = 0.23
	RunnerV2DenseSince         = 0.25
	RunnerV2AllSince           = 0.29
	RunnerV2GraphEstimateSince = 0.29
)

// modelRunnerV2 tells whether vLLM of version runs the model with Model Runner
// V2, and why. From 0.18 VLLM_USE_V2_MODEL_RUNNER=0 or 1 decides; unset, the release's
// automatic choice applies, and speculative methods other than EAGLE, EAGLE3,
// MTP, DFlash and DSpark send a model back to the V1 runner
// (_get_v2_model_runner_unsupported_features in vllm/config/vllm.py). At 0.22–0.24 the
// model family is told from the model's name (the catalog keeps no
// architecture), so a renamed checkpoint counts as V1 there, and quantized
// checkpoints stay on V1 before 0.24.
func modelRunnerV2(m Model, a vllm.Args, version float64, env map[string]string) (bool, string) {
	if version < RunnerV2OptInSince {
		return false, ""
	}
	switch env["VLLM_USE_V2_MODEL_RUNNER"] {
	case "1":
		return true, "VLLM_USE_V2_MODEL_RUNNER=1 selects Model Runner V2"
	case "0":
		return false, ""
	}
	if c, ok, _ := readSpecConfig(a); ok {
		switch sm := specMethod(c); {
		case sm == "eagle", sm == "eagle3", sm == "dflash", sm == "dspark", strings.Contains(sm, "mtp"):
		default: // ngram, suffix, draft_model ...: the V1 runner
			return false, ""
		}
	}
	if version >= RunnerV2AllSince {
		return true, fmt.Sprintf("vLLM %.2f runs every model on Model Runner V2", version)
	}
	dense := m.Experts == 0
	for _, k := range m.layerKinds() {
		if k.isState() {
			dense = false
		}
	}
	if !dense || version < RunnerV2QwenSince {
		return false, ""
	}
	if version < RunnerV2QuantizedSince && (flagValue(a, "quantization") != "" || m.CheckpointQ != "") {
		return false, "" // quantized models joined in 0.24
	}
	if version >= RunnerV2DenseSince {
		return true, fmt.Sprintf("vLLM %.2f runs dense models on Model Runner V2 (PR #44443, from 0.25)", version)
	}
	id := strings.ToLower(m.ID)
	switch {
	case strings.Contains(id, "qwen3-") && !strings.Contains(id, "qwen3-vl"):
		return true, fmt.Sprintf("vLLM %.2f runs Qwen3 dense models on Model Runner V2 (PR #39337, from 0.22)", version)
	case version >= RunnerV2LlamaSince && (strings.Contains(id, "llama") || strings.Contains(id, "mistral")):
		return true, fmt.Sprintf("vLLM %.2f runs Llama and Mistral dense models on Model Runner V2 (PR #43458, from 0.23)", version)
	}
	return false, ""
}

// Release boundaries of the rules above (vLLM minor versions as parseVersion returns them).
const (
	// HybridAllocatorSince: the hybrid KV cache manager (per-type groups, sliding
	// windows sized by their window) is on by default (vLLM PR #17996, 0.10.0).
	HybridAllocatorSince = 0.10
	// MambaAlignSince: prefix caching of hybrid models keeps mamba state in
	// mamba_cache_mode "align" (two state blocks per request).
	MambaAlignSince = 0.14
	// ConcurrencyTokensSince: "GPU KV cache size" is int(max concurrency ×
	// max_model_len) (vLLM PR #41069, April 2026); before, num_blocks ÷ groups × block.
	ConcurrencyTokensSince = 0.20
	// GraphEstimateSince: the profiler subtracts its CUDA-graph estimate by
	// default (VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1), and the default
	// --gpu-memory-utilization is 0.92 (vLLM PR #38284, merged 2026-04-21 and
	// shipped in v0.20.0, whose official image logs "CUDA graph memory profiling
	// is enabled"; the message itself says "default since v0.21.0").
	GraphEstimateSince = 0.20
	// ChunkedHybridSince: VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE
	// defaults to on, so Llama 4's chunked local-attention layers get their own
	// KV cache groups (ChunkedLocalAttentionSpec). PR #21761 (July 2025, after 0.10.0) made it
	// default off, sizing them as full attention; PR #29627 turned it back on,
	// a change PR #46553 dates between 0.22 and 0.23.
	ChunkedHybridSince = 0.23
)

// chunkedHybrid reports whether vLLM of version keeps the hybrid allocator
// for a model with chunked local attention (vllm/config/vllm.py): the
// environment variable decides when set, else the release's default.
func chunkedHybrid(version float64, env map[string]string) bool {
	switch strings.ToLower(env["VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE"]) {
	case "1", "true":
		return true
	case "0", "false":
		return false
	}
	return version >= ChunkedHybridSince
}

func orWord(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func joinPrefixed(sep string, parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	return sep + strings.Join(parts, sep)
}

// specDecode is what --speculative-config adds.
type specDecode struct {
	tokens      int
	mtpLayers   int
	weightBytes float64 // split by the target's TP × PP (MTP layers)
	rankBytes   float64 // per rank already (a draft model over its own TP)
	weightWhat  string
	notes       []string
	// basis is said with the verdict: what the figures leave out or why
	// vLLM would refuse the configuration.
	basis []string
	// refused are the reasons vLLM raises at startup (a subset of basis),
	// with their fixes: the verdict is then EngineRefuses.
	refused, fixes []string
	// draft is the separate draft model whose attention layers join the KV
	// cache (nil: none, or not known); draftTP its tensor-parallel size.
	draft   *Model
	draftTP int
	// hiddenStates: the method drafts from the target's hidden states
	// (SpeculativeConfig.use_eagle: eagle, eagle3, mtp, dflash, dspark),
	// which vLLM does not combine with chunked local attention in the
	// hybrid allocator.
	hiddenStates bool
}

// flagOn reads a boolean flag as written: --flag, --flag=true, --flag=false,
// --no-flag; written is false when the command line does not have it.
func flagOn(a vllm.Args, name string) (on, written bool) {
	arg, ok := a.Lookup(name)
	if !ok {
		return false, false
	}
	return !arg.Negated && (len(arg.Values) == 0 || strings.EqualFold(arg.Values[0], "true")), true
}

func flagValue(a vllm.Args, name string) string {
	if arg, ok := a.Lookup(name); ok && len(arg.Values) > 0 {
		return arg.Values[0]
	}
	return ""
}

// DraftModelV1Since: the first release whose V1 engine runs a separate
// draft model (vLLM PR #24322, "spec decode with draft models"). 0.10.0
// dropped V0 and with it draft models (vllm#21797, PR #22047's warning);
// vllm#31883 shows 0.13.0 still raising `Speculative decoding with draft
// model is not supported yet`, so the PR's first release is taken as 0.14.
const DraftModelV1Since = 0.14

// specConfig is the speculative configuration as written: the JSON of
// --speculative-config, or the older --speculative-model,
// --num-speculative-tokens and --speculative-draft-tensor-parallel-size.
type specConfig struct {
	Method  string `json:"method"`
	Model   string `json:"model"`
	N       int    `json:"num_speculative_tokens"`
	DraftTP int    `json:"draft_tensor_parallel_size"`
}

// SpeculativeDraft returns the draft model a command line names (empty: none).
func SpeculativeDraft(a vllm.Args) string {
	c, ok, _ := readSpecConfig(a)
	if !ok || c.Model == "" || strings.Contains(strings.ToLower(c.Method), "mtp") {
		return ""
	}
	return c.Model
}

func readSpecConfig(a vllm.Args) (specConfig, bool, error) {
	var c specConfig
	if v := flagValue(a, "speculative-config"); v != "" {
		if err := json.Unmarshal([]byte(v), &c); err != nil {
			return c, true, err
		}
		return c, true, nil
	}
	c.Model = flagValue(a, "speculative-model")
	if c.Model == "" {
		return c, false, nil
	}
	c.N, _ = strconv.Atoi(flagValue(a, "num-speculative-tokens"))
	c.DraftTP, _ = strconv.Atoi(flagValue(a, "speculative-draft-tensor-parallel-size"))
	if strings.EqualFold(c.Model, "[ngram]") {
		c.Method, c.Model = "ngram", ""
	}
	return c, true, nil
}

// specMethod is SpeculativeConfig's method when none is written: a model
// whose name holds "eagle-" is eagle, "eagle3" eagle3, else draft_model.
func specMethod(c specConfig) string {
	m := strings.ToLower(c.Method)
	if m == "" && c.Model != "" {
		name := strings.ToLower(c.Model)
		switch {
		case strings.Contains(name, "eagle-"):
			m = "eagle"
		case strings.Contains(name, "eagle3"):
			m = "eagle3"
		default:
			m = "draft_model"
		}
	}
	return m
}

// speculative reads --speculative-config (or the older flags): MTP layers of
// the model itself (their weights and one attention layer each in the KV
// cache), or a separate draft (draft_model, or an EAGLE-style head with its
// own checkpoint) whose weights sit on every rank split by its TP and whose
// attention layers join the KV cache; num_speculative_tokens adds conv-state
// rows and state blocks to linear-attention and Mamba layers, and no block
// to attention layers (their max_memory_usage_bytes is max_model_len's).
// draft is the draft model's config when it was found (catalog or
// config.json); tp is the target's tensor-parallel size.
func speculative(a vllm.Args, m Model, draft *Model, tp int, version float64) specDecode {
	var s specDecode
	c, ok, err := readSpecConfig(a)
	if !ok {
		return s
	}
	if err != nil {
		s.notes = append(s.notes, "--speculative-config is not JSON: its memory is not counted")
		s.basis = append(s.basis, "speculative decoding is not counted (--speculative-config is not JSON)")
		return s
	}
	s.tokens = c.N
	method := specMethod(c)
	s.hiddenStates = strings.Contains(method, "mtp") || slices.Contains([]string{"eagle", "eagle3", "dflash", "dspark"}, method)
	switch {
	case strings.Contains(method, "mtp"):
		if m.MTPLayers == 0 {
			s.notes = append(s.notes, "speculative method "+c.Method+": the model's MTP layer count is not known here; their weights and KV are not counted")
			return s
		}
		s.mtpLayers = m.MTPLayers
		perLayer := (m.ParamsB*1e9 - 2*float64(m.Vocab)*float64(m.Hidden)) / float64(m.Layers)
		s.weightBytes = float64(m.MTPLayers) * perLayer * 2
		s.weightWhat = fmt.Sprintf("MTP (%d layer of ~%.2fB params at 16 bits)", m.MTPLayers, perLayer/1e9)
		s.notes = append(s.notes, fmt.Sprintf("speculative decoding (%s, %d tokens): %d MTP layer(s) add weights and one attention layer each to the KV cache", c.Method, c.N, m.MTPLayers))
	case c.Model != "":
		if method == "draft_model" && version >= HybridAllocatorSince && version < DraftModelV1Since {
			why := fmt.Sprintf("vLLM %.2f refuses a separate draft model (`Speculative decoding with draft model is not supported yet`: V0 left in 0.10.0, V1 gained draft models with PR #24322, taken as %.2f)", version, DraftModelV1Since)
			s.notes = append(s.notes, why)
			s.basis = append(s.basis, why)
			s.refused = append(s.refused, why)
			s.fixes = append(s.fixes, fmt.Sprintf("use a speculative method this release runs (ngram, eagle, mtp) or vLLM %.2f or later for a draft model", DraftModelV1Since))
			return s
		}
		// _verify_and_get_draft_tp: unset means the target's TP; V0 also
		// took 1. V1 (DraftModelProposer, EAGLE) runs the draft in the
		// target's workers and raises on any other value.
		s.draftTP = tp
		if c.DraftTP > 0 {
			switch {
			case c.DraftTP == tp:
			case version < HybridAllocatorSince && c.DraftTP == 1:
				s.draftTP = 1
			default:
				why := fmt.Sprintf("draft_tensor_parallel_size %d with --tensor-parallel-size %d: vLLM raises (the draft's TP must be 1 or the target's, and the target's on V1)", c.DraftTP, tp)
				s.notes = append(s.notes, why)
				s.basis = append(s.basis, why)
				s.refused = append(s.refused, why)
				s.fixes = append(s.fixes, fmt.Sprintf("remove draft_tensor_parallel_size from --speculative-config, or set it to %d", tp))
			}
		}
		if draft == nil {
			if d, ok := LookupModel(c.Model); ok {
				draft = &d
			}
		}
		if draft == nil {
			why := fmt.Sprintf("draft model %s (%s) is not known (not in the catalog, no config.json found): its weights and attention layers are not counted, so the KV figures are those of the target alone (vLLM's differ: the draft's weights take memory and its layers join the KV groups); mount the Hugging Face cache that holds it, or name a local folder with its config.json", c.Model, method)
			s.notes = append(s.notes, why)
			s.basis = append(s.basis, why)
			return s
		}
		if method == "draft_model" && draft.Vocab > 0 && m.Vocab > 0 && draft.Vocab != m.Vocab {
			// V1: SpeculativeConfig.verify_equal_vocab_size_if_draft_model
			// (PR #24322); V0: SpecDecodeWorker._vocab_size asserts it.
			why := fmt.Sprintf("draft %s has a vocabulary of %s, the target %s: vLLM's draft_model method raises on unequal vocabulary sizes", draft.ID, vllm.Commas(draft.Vocab), vllm.Commas(m.Vocab))
			s.notes = append(s.notes, why)
			s.basis = append(s.basis, why)
			s.refused = append(s.refused, why)
			s.fixes = append(s.fixes, "use a draft model of the target's family (the same tokenizer and vocabulary)")
		}
		db, _ := weightBytes(*draft, draft.CheckpointQ, a.DType)
		s.rankBytes = db / float64(s.draftTP)
		s.weightWhat = fmt.Sprintf("draft %s (%.2f GiB ÷ draft TP %d)", draft.ID, db/gib, s.draftTP)
		s.draft, s.tokens = draft, c.N
		what := "weights on every rank"
		if s.draftTP == 1 && tp > 1 {
			what = "weights on the first rank (draft TP 1, V0)"
		}
		s.notes = append(s.notes, fmt.Sprintf("speculative decoding (%s, %d tokens): draft %s adds %.2f GiB of %s and its %d attention layer(s) to the KV cache", method, c.N, draft.ID, s.rankBytes/gib, what, draft.Layers))
		if method != "draft_model" {
			s.notes = append(s.notes, "an EAGLE-style head may share the target's embedding or lm_head; its whole checkpoint is counted")
		}
		if a.PipelineParallelSize > 1 {
			s.notes = append(s.notes, "the drafter lives on the last pipeline stage; the KV layout planned is the first stage's, without the draft's layers")
		}
	default:
		s.notes = append(s.notes, fmt.Sprintf("speculative method %q: no weights counted (n-gram and suffix methods need none)", c.Method))
	}
	return s
}

// loadRoom is the memory the weights can load into on the tightest GPU: its
// free memory now (live GPUs, or a declared GPU with memory held by something
// else) or its CUDA total, less this process's CUDA context. vLLM loads the
// weights whatever --gpu-memory-utilization says; only this bounds them.
func loadRoom(in Input) float64 {
	room := math.Inf(1)
	for _, g := range in.GPUs {
		have := g.CUDATotalGiB()
		if in.Live || g.HeldMiB > 0 {
			have = g.FreeGiB()
		}
		room = math.Min(room, have-Overheads.CUDAContextGiB)
	}
	return room
}

// unreadableMMFlags says which multimodal flags hold a value the planner (and
// vLLM's argument parser) cannot read, and what the plan took instead.
func unreadableMMFlags(a vllm.Args) []string {
	var out []string
	if v := flagValue(a, "limit-mm-per-prompt"); v != "" {
		var j map[string]any
		if _, pairs := mmPairs(v); json.Unmarshal([]byte(v), &j) != nil && !pairs {
			out = append(out, fmt.Sprintf("--limit-mm-per-prompt %q is neither a JSON object nor modality=count pairs: vLLM refuses it at startup (`vllmctl check` says where); planned with vLLM's default limits", v))
		}
	}
	if v := flagValue(a, "mm-processor-kwargs"); v != "" && mmProcessorKwargs(a) == nil {
		out = append(out, fmt.Sprintf("--mm-processor-kwargs %q is not a JSON object: vLLM refuses it at startup (`vllmctl check` says where); planned without it", v))
	}
	return out
}

// multimodalNote says what the planner assumes about the vision/audio tower.
func multimodalNote(a vllm.Args, m Model, enc encoderProfile) string {
	if enc.Skipped != "" {
		return "multimodal model: " + enc.Skipped + " (the tower's weights are still counted)"
	}
	tower := "its share of the parameters is not known here"
	if m.VisionParamsB > 0 {
		tower = fmt.Sprintf("%.2fB params", m.VisionParamsB)
	}
	if enc.Modelled {
		knobs := "the image count follows --max-num-batched-tokens, and --max-num-seqs × images per prompt (--limit-mm-per-prompt, at most --max-model-len ÷ one image) when smaller"
		if m.Vision.Family == VisionQwen {
			knobs += "; --mm-processor-kwargs max_pixels sets an image's size"
		} else {
			knobs += "; pan-and-scan crops are not sized"
		}
		return fmt.Sprintf("multimodal model: the profile runs the vision encoder on %d image(s) of %s embeddings (vLLM: `Encoder cache will be initialized with a budget of %d tokens, and profiled with %d image items`), counted in the activation peak; %s",
			enc.Items, vllm.Commas(enc.Embeds), enc.Budget, enc.Items, knobs)
	}
	if enc.Why != "" {
		return "multimodal model: the vision tower is counted in the weights; the encoder's profile run and encoder cache are not modelled here (" + enc.Why + "): keep headroom"
	}
	return "multimodal model: the vision/audio tower is counted in the weights (" + tower + "); the encoder's profile run and encoder cache (sized by --limit-mm-per-prompt and max_num_batched_tokens) are not modelled for this tower or release: keep headroom or pass --limit-mm-per-prompt"
}

// weightBytes estimates the checkpoint size and the stored bits per quantized weight.
func weightBytes(m Model, quant, dtype string) (float64, float64) {
	if m.WeightBytes > 0 {
		return float64(m.WeightBytes), float64(m.WeightBytes) * 8 / (m.ParamsB * 1e9)
	}
	params := m.ParamsB * 1e9
	emb := float64(m.Vocab) * float64(m.Hidden)
	if !m.Tie {
		emb *= 2
	}
	if m.ExpertQuantBits > 0 && m.MoELayers > 0 && m.ExpertFFN > 0 {
		// A checkpoint that quantizes the routed experts only (its
		// quantization_config ignores attention, dense and shared-expert
		// MLPs and lm_head): experts at their stored bits, the rest 16-bit.
		experts := float64(m.MoELayers) * float64(m.Experts) * 3 * float64(m.Hidden) * float64(m.ExpertFFN)
		if experts < params {
			w := experts*m.ExpertQuantBits/8 + (params-experts)*2
			return w, w * 8 / params
		}
	}
	bits := 16.0
	if dtype == "float32" || dtype == "float" {
		bits = 32
	}
	if b, ok := Overheads.QuantBits[quant]; ok {
		bits = b
	}
	if quant == "mxfp4" && m.Experts > 0 && m.ExpertFFN > 0 {
		// An MXFP4 checkpoint quantizes the MoE experts only: gpt-oss's
		// quantization_config leaves self_attn, the router, embed_tokens and
		// lm_head out (modules_to_not_convert), and vLLM's Mxfp4Config gives
		// linear layers UnquantizedLinearMethod and FusedMoE layers
		// Mxfp4MoEMethod (vllm/model_executor/layers/quantization/mxfp4.py).
		// Experts: 4-bit E2M1 values plus one E8M0 scale per 32 (4.25 bits);
		// the rest at 16 bits.
		experts := float64(m.Layers) * float64(m.Experts) * 3 * float64(m.Hidden) * float64(m.ExpertFFN)
		if experts < params {
			w := experts*bits/8 + (params-experts)*2
			return w, w * 8 / params
		}
	}
	return (params-emb)*bits/8 + emb*2, bits
}

// weightFixes proposes the smallest tensor-parallel size (or a 4-bit
// checkpoint) whose weights per GPU, beside the profile's other terms
// (other, per GPU) and one request of max_model_len (needAll, over all
// ranks), fit the budget.
func weightFixes(m Model, a vllm.Args, quant string, wBytes, total, util, other, needAll float64) []string {
	var out []string
	fits := func(w float64, tp int) bool {
		return w/float64(tp)/gib+other+needAll/float64(tp) <= total*util
	}
	for tp := a.TensorParallelSize * 2; tp <= 8; tp *= 2 {
		if m.Heads%tp == 0 && fits(wBytes, tp) {
			out = append(out, fmt.Sprintf("run on %d GPUs with --tensor-parallel-size %d", tp*max(1, a.PipelineParallelSize), tp))
			break
		}
	}
	if quant == "" {
		q := m
		q.CheckpointQ = "awq"
		qb, _ := weightBytes(q, "awq", a.DType)
		if fits(qb, max(1, a.TensorParallelSize)) {
			out = append(out, "use a 4-bit checkpoint (e.g. an -AWQ repo, --quantization awq_marlin)")
		}
	}
	if len(out) == 0 {
		out = append(out, "use a smaller model or larger GPUs")
	}
	return out
}

// kvDTypeBytes is the bytes per KV cache element for --kv-cache-dtype, its
// name, and a note when the dtype is not in the table (then 2 bytes are assumed).
func kvDTypeBytes(kvDType, dtype string, m Model) (float64, string, string) {
	k := strings.ToLower(kvDType)
	switch {
	case k == "" || k == "auto":
		if dtype == "float32" || dtype == "float" {
			return 4, "float32 (auto: the model dtype)", ""
		}
		return 2, "bf16/fp16 (auto: the model dtype)", ""
	case k == "fp8" || k == "fp8_e4m3" || k == "fp8_e5m2" || k == "fp8_inc":
		return 1, k, ""
	case k == "fp8_ds_mla":
		if m.KVLoraRank > 0 {
			// MLAAttentionSpec: 656 B per token for the latent of 576 values.
			return 656.0 / float64(m.KVLoraRank+m.QKRopeHeadDim), k, ""
		}
		return 1, k, ""
	case k == "fp8_per_token_head" || k == "int8_per_token_head":
		// One float32 scale per token and head for K and one for V beside the
		// 1-byte values: 1 + 4 ÷ head_dim bytes per element. Inferred from two
		// logs of one setup (club-3090 PR #594 and issue #602, head_dim 256):
		// int8_per_token_head holds 1.67 % fewer tokens per GiB than fp8; 4 B
		// scales give 1.54 %.
		hd := m.HeadDim
		if hd == 0 && m.Heads > 0 {
			hd = m.Hidden / m.Heads
		}
		if hd <= 0 {
			return 1, k, k + ": head_dim unknown, the per-token-head scales are not counted"
		}
		return 1 + 4/float64(hd), k, ""
	case k == "nvfp4":
		// fp4 data (½ B) plus one fp8 scale per 16 values.
		return 0.5 + 1.0/16, k, ""
	case k == "bfloat16" || k == "float16" || k == "half":
		return 2, k, ""
	case k == "float32":
		return 4, k, ""
	}
	return 2, kvDType + " (assumed 2 B)", fmt.Sprintf("--kv-cache-dtype %s is not in the planner's table: 2 bytes per element assumed", kvDType)
}

func modelDTypeBytes(dtype string) int {
	if dtype == "float32" || dtype == "float" {
		return 4
	}
	return 2
}

func ropeFactor(rs map[string]any) float64 {
	if rs == nil {
		return 1
	}
	if f, ok := rs["factor"].(float64); ok && f > 1 {
		return f
	}
	return 1
}

func ropeNote(f float64) string {
	if f > 1 {
		return fmt.Sprintf(" (RoPE factor %g included)", f)
	}
	return " (no RoPE scaling declared)"
}

// parseVersion turns "0.11.0" into 0.11 and "0.9.2" into 0.09 (minor / 100).
func parseVersion(v string) float64 {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if len(parts) < 2 {
		return 0.11
	}
	major, _ := strconv.Atoi(parts[0])
	minor, _ := strconv.Atoi(parts[1])
	return float64(major) + float64(minor)/100
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// KVTokens is vLLM's block arithmetic alone: the KV blocks and tokens that
// availGiB of KV memory holds on the worst rank, with the rank spread of
// Overheads applied for TP × PP > 1. The token count is the one vLLM of
// version prints ("" for the default release).
func KVTokens(m Model, a vllm.Args, availGiB float64, version ...string) (blocks, tokens int) {
	r, err := KVFigures(m, a, availGiB, strings.Join(version, ""))
	if err != nil {
		return 0, 0
	}
	return r.KVBlocks, r.KVTokens
}

// KVFigures is KVTokens with the whole layout: blocks, both token formulas,
// concurrency and the layout, for the available KV memory of the worst rank.
func KVFigures(m Model, a vllm.Args, availGiB float64, version string) (Result, error) {
	tp, pp := max(1, a.TensorParallelSize), max(1, a.PipelineParallelSize)
	ver := parseVersion(version)
	mml := a.MaxModelLen
	if mml == 0 {
		mml = int(float64(m.MaxPositions) * ropeFactor(a.RopeScaling))
	}
	kvb, _, _ := kvDTypeBytes(a.KVCacheDType, a.DType, m)
	spec := speculative(a, m, nil, tp, ver)
	bt := a.MaxNumBatchedTokens
	if bt == 0 {
		bt = max(2048, mmBatchedFloor(m, a, ver))
	}
	li := layoutInput{TP: tp, PP: pp, KVBytes: kvb, ModelBytes: modelDTypeBytes(a.DType), SSMBytes: modelDTypeBytes(a.DType),
		MaxModelLen: max(1, mml), BatchedTokens: bt, SpecTokens: spec.tokens, MTPLayers: spec.mtpLayers,
		Draft: spec.draft, DraftTP: spec.draftTP, InFlight: inFlightTokens(a, bt, pp, ver),
		NoHybrid:   a.IsSet("disable-hybrid-kv-cache-manager") || ver < HybridAllocatorSince || (m.AttentionChunk > 0 && (spec.hiddenStates || !chunkedHybrid(ver, nil))),
		MambaAlign: ver >= MambaAlignSince}
	if arg, ok := a.Lookup("enable-prefix-caching"); ok && arg.Negated {
		li.MambaAlign = false
	}
	if m.SSMDType == "float32" {
		li.SSMBytes = 4
	}
	lo, err := m.layout(li)
	if err != nil {
		return Result{}, err
	}
	avail := availGiB - Overheads.RankSpreadGiB*float64(tp*pp-1)
	var availBytes int64
	if avail > 0 {
		availBytes = int64(avail * gib)
	}
	f := lo.figures(availBytes, li)
	r := Result{KVBlocks: f.Blocks, TokensBlocks: f.TokensOld, TokensConc: f.TokensNew, Concurrency: f.Concurrency, Layout: &lo, MaxModelLen: mml}
	r.KVTokens = f.TokensOld
	if ver >= ConcurrencyTokensSince {
		r.KVTokens = f.TokensNew
	}
	return r, nil
}
