// Package plan answers "will it fit?" before a deploy: weights, activation
// peak, non-torch memory, CUDA graphs and the KV cache per GPU, the KV cache
// tokens and concurrency vLLM will report, and a verdict with the change that
// would make a failing profile fit. It follows vLLM's own method (FACTS.md §5)
// and is pure: model facts, GPUs and flags come in as values. The few numbers
// that are fitted rather than derived live in Overheads.
package plan

import (
	"fmt"
	"math"
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
	Unknown         Verdict = "unknown"
)

// Failing reports whether vLLM would fail to start with this verdict.
func (v Verdict) Failing() bool {
	switch v {
	case KVTooSmall, NoKVMemory, WeightsTooLarge, TooLong, FreeMemory:
		return true
	}
	return false
}

// Input is everything one engine's estimate depends on.
type Input struct {
	Model   Model
	Args    vllm.Args
	GPUs    []gpu.GPU // the GPUs the engine runs on, one per rank (TP × PP)
	Version string    // vLLM version, e.g. "0.11.0"; decides defaults and graph accounting
	Environ map[string]string
	Live    bool // GPUs were measured now: check free memory
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
	Model         string   `json:"model"`
	ModelSource   string   `json:"model_source"`
	TP            int      `json:"tensor_parallel_size"`
	PP            int      `json:"pipeline_parallel_size"`
	MaxModelLen   int      `json:"max_model_len"`
	Derived       bool     `json:"max_model_len_derived,omitempty"`
	Utilization   float64  `json:"gpu_memory_utilization"`
	KVDTypeBytes  int      `json:"kv_dtype_bytes"`
	WeightBits    float64  `json:"weight_bits"`
	BatchedTokens int      `json:"max_num_batched_tokens"`
	BytesPerToken int      `json:"kv_bytes_per_token_per_rank"`
	Ranks         []Rank   `json:"ranks"`
	KVBlocks      int      `json:"kv_blocks"`
	KVTokens      int      `json:"kv_cache_tokens"`
	Concurrency   float64  `json:"max_concurrency"`
	NeedGiB       float64  `json:"kv_needed_for_one_request_gib"`
	MaxFittingLen int      `json:"largest_fitting_max_model_len,omitempty"`
	UtilToFit     float64  `json:"utilization_to_fit,omitempty"`
	Verdict       Verdict  `json:"verdict"`
	Reasons       []string `json:"reasons,omitempty"`
	Fixes         []string `json:"fixes,omitempty"`
	Notes         []string `json:"notes,omitempty"`
	Explain       []Line   `json:"explain,omitempty"`
}

// Estimate computes the plan for one engine. It needs the model's
// architecture; GPUs may be empty (then only per-token figures are given).
func Estimate(in Input) Result {
	a := in.Args
	m := in.Model
	r := Result{Model: a.Model, ModelSource: m.Source, TP: max(1, a.TensorParallelSize), PP: max(1, a.PipelineParallelSize),
		Utilization: a.GPUMemoryUtilization, MaxModelLen: a.MaxModelLen}
	expl := func(name string, v float64, f string, args ...any) {
		r.Explain = append(r.Explain, Line{Name: name, GiB: round2(v), Formula: fmt.Sprintf(f, args...)})
	}
	// Context length: the flag, else what the model config allows.
	maxPos := m.MaxPositions
	factor := ropeFactor(a.RopeScaling)
	allowed := int(float64(maxPos) * factor)
	if r.MaxModelLen == 0 {
		r.MaxModelLen, r.Derived = allowed, true
	}
	if maxPos > 0 && r.MaxModelLen > allowed && in.Environ["VLLM_ALLOW_LONG_MAX_MODEL_LEN"] != "1" {
		r.Verdict = TooLong
		r.Reasons = append(r.Reasons, fmt.Sprintf("--max-model-len %d is above the model's %d positions%s: vLLM stops with `User-specified max_model_len (%d) is greater than the derived max_model_len`",
			r.MaxModelLen, allowed, ropeNote(factor), r.MaxModelLen))
		r.Fixes = append(r.Fixes, fmt.Sprintf("lower --max-model-len to %d", allowed))
		if factor == 1 {
			r.Fixes = append(r.Fixes, fmt.Sprintf(`or declare RoPE scaling: --rope-scaling '{"rope_type":"yarn","factor":%g,"original_max_position_embeddings":%d}'`, math.Ceil(float64(r.MaxModelLen)/float64(maxPos)), maxPos))
		}
	}
	switch m.Kind {
	case "sliding", "hybrid", "mla", "multimodal":
		r.Verdict = NotCovered
		r.Notes = append(r.Notes, map[string]string{
			"sliding":    "sliding-window layers are sized differently (FACTS §5.5): the dense formula would under-count KV tokens",
			"hybrid":     "hybrid attention (linear or Mamba layers) keeps per-request state: the dense formula does not apply",
			"mla":        "MLA models store one latent head per token and layer, not split across ranks: not modelled",
			"multimodal": "the vision encoder's profile-run memory is not modelled",
		}[m.Kind])
		return r
	}
	// KV bytes per token on one rank.
	r.KVDTypeBytes = kvBytes(a.KVCacheDType, a.DType)
	kvh := max(1, m.KVHeads/r.TP)
	layers := int(math.Ceil(float64(m.Layers) / float64(r.PP)))
	page := BlockSize * 2 * kvh * m.HeadDim * r.KVDTypeBytes
	r.BytesPerToken = 2 * layers * kvh * m.HeadDim * r.KVDTypeBytes
	blocksPerReq := (r.MaxModelLen + BlockSize - 1) / BlockSize
	r.NeedGiB = float64(layers*blocksPerReq*page) / gib
	if len(in.GPUs) == 0 {
		if r.Verdict == "" {
			r.Verdict = Unknown
		}
		r.Notes = append(r.Notes, "no GPU inventory: pass --gpu \"RTX 4090\" --gpus N, declare gpus: in vllmctl.yaml, or run where nvidia-smi works")
		return r
	}
	// Weights per rank.
	quant := a.Quantization
	if quant == "" {
		quant = m.CheckpointQ
	}
	wBytes, bits := weightBytes(m, quant, a.DType)
	r.WeightBits = bits
	weights := wBytes / float64(r.TP*r.PP) / gib
	version := parseVersion(in.Version)
	r.BatchedTokens = a.MaxNumBatchedTokens
	minTotal := math.Inf(1)
	for _, g := range in.GPUs {
		minTotal = math.Min(minTotal, g.TotalGiB())
	}
	if r.BatchedTokens == 0 {
		r.BatchedTokens = 2048
		if minTotal >= Overheads.LargeGPUGiB {
			r.BatchedTokens = 8192
		}
		if version < 0.08 { // V0 without chunked prefill profiled a whole max_model_len
			r.BatchedTokens = max(r.MaxModelLen, 2048)
		}
	}
	ffn := float64(m.Intermediate) / float64(r.TP)
	act := float64(r.BatchedTokens) * ffn * Overheads.ActivationBytesPerTokenPerFFN / gib
	if quant == "bitsandbytes" {
		act += Overheads.BnBWorkspaceGiB
	}
	nonTorch := Overheads.NonTorchGiB
	if r.TP*r.PP > 1 {
		nonTorch += Overheads.NonTorchTPGiB
	}
	graphs := 0.0
	if !a.EnforceEager {
		graphs = Overheads.GraphGiBPer28Layers * float64(layers) / 28
	}
	graphsIn := version >= 0.21
	minKV := math.Inf(1)
	for i := 0; i < r.TP*r.PP; i++ {
		g := in.GPUs[i%len(in.GPUs)]
		rk := Rank{Rank: i, GPU: fmt.Sprintf("%d %s", g.Index, g.Name), TotalGiB: round2(g.TotalGiB()), FreeGiB: round2(g.FreeGiB()),
			Budget: g.TotalGiB() * r.Utilization, Weights: weights, Activation: act, NonTorch: nonTorch, Graphs: graphs, GraphsInBudget: graphsIn}
		rk.KV = rk.Budget - weights - act - nonTorch
		if graphsIn {
			rk.KV -= graphs
		}
		minKV = math.Min(minKV, rk.KV)
		r.Ranks = append(r.Ranks, rk)
		if in.Live && g.FreeGiB() < rk.Budget && r.Verdict == "" {
			r.Verdict = FreeMemory
			r.Reasons = append(r.Reasons, fmt.Sprintf("GPU %d has %.2f GiB free now, below %.2f × %.2f = %.2f GiB: vLLM stops with `Free memory on device ... is less than desired GPU memory utilization`",
				g.Index, g.FreeGiB(), g.TotalGiB(), r.Utilization, rk.Budget))
			for _, p := range g.Processes {
				r.Reasons = append(r.Reasons, fmt.Sprintf("  held by %s (pid %d): %d MiB", p.Name, p.PID, p.UsedMiB))
			}
			r.Fixes = append(r.Fixes, fmt.Sprintf("lower --gpu-memory-utilization to %.2f, or free the GPU", math.Floor(g.FreeGiB()/g.TotalGiB()*100)/100))
		}
	}
	spread := Overheads.RankSpreadGiB * float64(r.TP*r.PP-1)
	kvAvail := minKV - spread
	rank0 := r.Ranks[0]
	expl("budget", rank0.Budget, "total %.2f GiB × gpu_memory_utilization %.2f", rank0.TotalGiB, r.Utilization)
	expl("weights", weights, "%.2fB params at %.2f bits (embeddings 16-bit) ÷ TP %d × PP %d", m.ParamsB, bits, r.TP, r.PP)
	expl("activation peak", act, "%d batched tokens × %d FFN/rank × %g B", r.BatchedTokens, int(ffn), Overheads.ActivationBytesPerTokenPerFFN)
	expl("non-torch", nonTorch, "CUDA context, cuBLAS%s", map[bool]string{true: ", NCCL buffers", false: ""}[r.TP*r.PP > 1])
	if graphsIn {
		expl("CUDA graphs", graphs, "%.2f GiB per 28 layers × %d layers, subtracted since v0.21", Overheads.GraphGiBPer28Layers, layers)
	} else {
		expl("CUDA graphs (outside budget)", graphs, "%.2f GiB per 28 layers × %d layers; before v0.21 they must fit in (1 − util) × total", Overheads.GraphGiBPer28Layers, layers)
	}
	expl("KV cache", kvAvail, "budget − weights − activation − non-torch%s − rank spread %.2f (min over ranks)", map[bool]string{true: " − graphs", false: ""}[graphsIn], spread)
	if kvAvail > 0 {
		r.KVBlocks = int(kvAvail * gib / float64(page) / float64(layers))
	}
	r.KVTokens = r.KVBlocks * BlockSize
	r.Concurrency = float64(r.KVBlocks) / float64(blocksPerReq)
	r.MaxFittingLen = r.KVTokens
	nonKV := rank0.Budget - rank0.KV + spread
	r.UtilToFit = math.Ceil((nonKV+r.NeedGiB)/minTotal*100) / 100
	expl("KV bytes per token", float64(r.BytesPerToken)/gib, "2 × %d layers × %d KV heads/rank × head_dim %d × %d B = %d B", layers, kvh, m.HeadDim, r.KVDTypeBytes, r.BytesPerToken)
	expl("one request of max_model_len", r.NeedGiB, "%d layers × ceil(%d/16) blocks × %d B page", layers, r.MaxModelLen, page)
	if r.Verdict == "" {
		switch {
		case weights+act+nonTorch > rank0.Budget && weights > rank0.Budget:
			r.Verdict = WeightsTooLarge
			r.Reasons = append(r.Reasons, fmt.Sprintf("weights take %.2f GiB per GPU, above the %.2f GiB budget: vLLM fails with CUDA out of memory while loading", weights, rank0.Budget))
			r.Fixes = append(r.Fixes, weightFixes(m, a, quant, wBytes, minTotal, r.Utilization)...)
		case kvAvail <= 0:
			r.Verdict = NoKVMemory
			r.Reasons = append(r.Reasons, fmt.Sprintf("nothing is left for the KV cache (%.2f GiB): vLLM stops with `No available memory for the cache blocks`", kvAvail))
			r.Fixes = append(r.Fixes, fmt.Sprintf("raise --gpu-memory-utilization to %.2f if the GPU has the room, quantize, or raise --tensor-parallel-size", math.Min(0.95, r.UtilToFit)))
		case r.NeedGiB > kvAvail:
			r.Verdict = KVTooSmall
			r.Reasons = append(r.Reasons, fmt.Sprintf("one request of %d tokens needs %.2f GiB of KV cache; %.2f GiB is available: vLLM stops with `To serve at least one request with the models's max seq len (%d)...`",
				r.MaxModelLen, r.NeedGiB, kvAvail, r.MaxModelLen))
			fix := fmt.Sprintf("lower --max-model-len to %d", r.MaxFittingLen/BlockSize*BlockSize)
			if r.UtilToFit <= 0.98 {
				fix += fmt.Sprintf(" or raise --gpu-memory-utilization to %.2f", r.UtilToFit)
			}
			if r.KVDTypeBytes > 1 {
				fix += ", or use --kv-cache-dtype fp8 (halves KV bytes)"
			}
			r.Fixes = append(r.Fixes, fix)
		case (kvAvail-r.NeedGiB)/kvAvail < Overheads.HeadroomWarn || r.Concurrency < 1.1:
			r.Verdict = FitsTight
			r.Reasons = append(r.Reasons, fmt.Sprintf("fits with %.0f%% KV headroom (%.2fx concurrency at %d tokens)", 100*(kvAvail-r.NeedGiB)/kvAvail, r.Concurrency, r.MaxModelLen))
		default:
			r.Verdict = Fits
		}
	}
	if !graphsIn && !a.EnforceEager {
		outside := minTotal * (1 - r.Utilization)
		if graphs > outside {
			r.Notes = append(r.Notes, fmt.Sprintf("CUDA graphs (~%.2f GiB) may not fit outside the budget (%.2f GiB): graph capture can run out of memory; --enforce-eager or a lower utilization avoids it", graphs, outside))
		}
	}
	if m.Kind == "moe" {
		r.Notes = append(r.Notes, "MoE kernels allocate buffers outside the budget (about 2.6 GiB seen in one deployment): keep headroom")
	}
	for i := range r.Ranks {
		rk := &r.Ranks[i]
		rk.Budget, rk.Weights, rk.Activation, rk.NonTorch, rk.Graphs, rk.KV = round2(rk.Budget), round2(rk.Weights), round2(rk.Activation), round2(rk.NonTorch), round2(rk.Graphs), round2(rk.KV)
	}
	r.NeedGiB = round2(r.NeedGiB)
	r.Concurrency = math.Floor(r.Concurrency*100) / 100
	return r
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
	bits := 16.0
	if dtype == "float32" || dtype == "float" {
		bits = 32
	}
	if b, ok := Overheads.QuantBits[quant]; ok {
		bits = b
	}
	return (params-emb)*bits/8 + emb*2, bits
}

func weightFixes(m Model, a vllm.Args, quant string, wBytes, total, util float64) []string {
	var out []string
	for tp := a.TensorParallelSize * 2; tp <= 8; tp *= 2 {
		if m.Heads%tp == 0 && wBytes/float64(tp)/gib < total*util*0.8 {
			out = append(out, fmt.Sprintf("run on %d GPUs with --tensor-parallel-size %d", tp*max(1, a.PipelineParallelSize), tp))
			break
		}
	}
	if quant == "" {
		q := m
		q.CheckpointQ = "awq"
		qb, _ := weightBytes(q, "awq", a.DType)
		if qb/float64(max(1, a.TensorParallelSize))/gib < total*util*0.8 {
			out = append(out, "use a 4-bit checkpoint (e.g. an -AWQ repo, --quantization awq_marlin)")
		}
	}
	if len(out) == 0 {
		out = append(out, "use a smaller model or larger GPUs")
	}
	return out
}

func kvBytes(kvDType, dtype string) int {
	switch strings.ToLower(kvDType) {
	case "fp8", "fp8_e4m3", "fp8_e5m2", "fp8_inc":
		return 1
	}
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
// Overheads applied for TP × PP > 1.
func KVTokens(m Model, a vllm.Args, availGiB float64) (blocks, tokens int) {
	tp, pp := max(1, a.TensorParallelSize), max(1, a.PipelineParallelSize)
	kvh := max(1, m.KVHeads/tp)
	layers := int(math.Ceil(float64(m.Layers) / float64(pp)))
	page := BlockSize * 2 * kvh * m.HeadDim * kvBytes(a.KVCacheDType, a.DType)
	avail := availGiB - Overheads.RankSpreadGiB*float64(tp*pp-1)
	if avail <= 0 {
		return 0, 0
	}
	blocks = int(avail * gib / float64(page) / float64(layers))
	return blocks, blocks * BlockSize
}
