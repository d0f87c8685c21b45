package plan

import (
	"fmt"
	"strconv"

	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// MoEKernel is the fused-MoE implementation vLLM runs a model's routed
// experts with; it decides the buffers of the profile run's forward pass.
type MoEKernel string

// The fused-MoE implementations whose buffers differ.
const (
	// MoEMarlin: fused_marlin_moe (AWQ and GPTQ int4 experts, MXFP4 below
	// Hopper or before 0.12). One buffer serves caches 1 and 3, M × topk ×
	// max(2I, K), cache 2 is M × topk × I, the output M × K: all alive at the
	// final sum, and the tokens are never chunked.
	MoEMarlin MoEKernel = "marlin"
	// MoETriton: fused_experts (bf16, FP8 and the other experts): the same
	// caches over at most VLLM_FUSED_MOE_CHUNK_SIZE tokens at a time, and the
	// M × K output.
	MoETriton MoEKernel = "triton"
	// MoEOGS: gpt-oss MXFP4 through triton_kernels' matmul_ogs (Hopper from
	// 0.12): the activation is fused into the first GEMM and the second writes
	// into the output: M × (topk × I + K).
	MoEOGS MoEKernel = "triton_kernels"
)

// FusedMoEChunkDefault is VLLM_FUSED_MOE_CHUNK_SIZE when unset (32,768 in
// vLLM's fused_moe.py of 2025; smaller in some later copies, which only
// matters above that many batched tokens).
const FusedMoEChunkDefault = 32768

// moeKernelFor picks the fused-MoE path of a quantization on a GPU.
func moeKernelFor(quant string, g gpu.GPU, version float64) MoEKernel {
	switch quant {
	case "awq", "awq_marlin", "gptq", "gptq_marlin", "marlin":
		return MoEMarlin
	case "mxfp4":
		if k := mxfp4KernelFor(g, version); k.Backend == "triton" {
			return MoEOGS
		}
		return MoEMarlin
	}
	return MoETriton
}

// moeActivation is the profile run's peak while one MoE layer's routed
// experts run over tokens batched tokens on one rank, in bytes, with its
// formula: the kernel's buffers (above) plus what the decoder layer keeps
// alive meanwhile — its input, the residual and the shared expert's output
// (3 × M × K), the router logits (M × experts) and the top-k weights and ids
// (8 B × M × topk). Activations are 16-bit. Only one layer's buffers live at
// a time: vLLM frees them layer by layer. Sources: vLLM's fused_marlin_moe.py,
// fused_moe.py, gpt_oss_triton_kernels_moe.py and a MoE decoder layer
// (kimi_linear.py, qwen3_moe.py), read for issue 13.
func moeActivation(m Model, k MoEKernel, tokens, tp int, env map[string]string) (float64, string) {
	if m.Experts == 0 || m.ExpertsPerTok == 0 || m.ExpertFFN == 0 || tokens <= 0 {
		return 0, ""
	}
	const s = 2.0
	M, topk, K := float64(tokens), float64(m.ExpertsPerTok), float64(m.Hidden)
	inter := float64(m.ExpertFFN / max(1, tp))
	caches := max(2*inter, K) + inter // cache13 and cache2, per token and expert slot
	var kernel float64
	var how string
	switch k {
	case MoEMarlin:
		kernel = s * M * (topk*caches + K)
		how = fmt.Sprintf("Marlin: %s tokens × (topk %d × (max(2I, K) + I) + K) × 2 B", vllm.Commas(tokens), m.ExpertsPerTok)
	case MoEOGS:
		kernel = s * M * (topk*inter + K)
		how = fmt.Sprintf("matmul_ogs: %s tokens × (topk %d × I + K) × 2 B", vllm.Commas(tokens), m.ExpertsPerTok)
	default:
		chunk := FusedMoEChunkDefault
		if v, err := strconv.Atoi(env["VLLM_FUSED_MOE_CHUNK_SIZE"]); err == nil && v > 0 {
			chunk = v
		}
		mc := float64(min(tokens, chunk))
		kernel = s * (mc*topk*caches + M*K)
		how = fmt.Sprintf("Triton fused_experts: min(%s tokens, chunk %s) × topk %d × (max(2I, K) + I) × 2 B + the output", vllm.Commas(tokens), vllm.Commas(chunk), m.ExpertsPerTok)
	}
	layer := s*M*(3*K+float64(m.Experts)) + 8*M*topk
	return kernel + layer, fmt.Sprintf("the routed experts of one MoE layer (I = %s per rank, K = %s): %s, beside the layer's input, residual and shared-expert output, router logits over %d experts and top-k ids", vllm.Commas(int(inter)), vllm.Commas(m.Hidden), how, m.Experts)
}
