package plan

// Overheads are the data-driven parts of the memory model, in one place. Each
// entry says where its number comes from; everything else in the estimator is
// vLLM's own arithmetic (FACTS.md §5).
var Overheads = struct {
	// ActivationBytesPerTokenPerFFN is the activation peak of the profile run per
	// batched token and per unit of intermediate (FFN) size per rank. Fitted on
	// Llama-3.1-8B (vllm#10517: 2.07 GiB for 20,000 tokens, 2.99 GiB for 29,000,
	// intermediate 14,336): about 8 bytes (two fp16 gate/up outputs, doubled by SiLU).
	ActivationBytesPerTokenPerFFN float64
	// NonTorchGiB is memory outside PyTorch's allocator (CUDA context growth,
	// cuBLAS workspace). vllm#10517 logs 0.35 GiB on one GPU.
	NonTorchGiB float64
	// NonTorchTPGiB is added per rank when TP > 1 (NCCL and all-reduce buffers);
	// vllm Qwen2.5-VL-72B TP 4 logs 0.34–0.43 GiB in all.
	NonTorchTPGiB float64
	// RankSpreadGiB is how much less KV memory the worst rank has, per extra rank
	// (FACTS §5.4: ranks differ by hundredths to tenths; vllm#21348 TP 4: 0.09 GiB).
	RankSpreadGiB float64
	// GraphGiBPer28Layers is the CUDA-graph memory of a 28-layer model (sample log:
	// "Graph capturing finished in 3 secs, took 0.50 GiB"), scaled with the layer count.
	GraphGiBPer28Layers float64
	// QuantBits are the stored bits per quantized weight, scales and zeros included
	// (4-bit, group 128: 4 + 16/128 + 4/128 ≈ 4.16; checked on Qwen2.5-7B bnb-4bit,
	// 5.20 GiB logged in vllm#13882).
	QuantBits map[string]float64
	// BnBWorkspaceGiB is the extra activation of bitsandbytes dequantization in the
	// profile run (vllm#13882: 1.42 GiB peak for 4,096 tokens of a 7B model, about
	// 0.8 GiB above the dense figure).
	BnBWorkspaceGiB float64
	// LargeGPUGiB is the memory from which vLLM's V1 defaults grow:
	// max_num_batched_tokens 8192 and max_num_seqs 1024 instead of 2048 and 256.
	LargeGPUGiB float64
	// HeadroomWarn is the KV headroom below which a fit is called tight.
	HeadroomWarn float64
	// MoEScratchGiB is the boot peak above total × utilization of a MoE model
	// (fused-MoE buffers, CUDA graphs included): 2.1–2.8 GiB measured on a 24 GB
	// card at utilization 0.70–0.78 (issue 13; FACTS §5.1 and §7 item 2: about
	// 2.6 GiB). The planner takes the low end as the least to expect.
	MoEScratchGiB float64
	// MoEScratchHighGiB is the high end of that measurement (2.8 GiB): the boot
	// risk is judged against it, since that deployment crash-looped at boot.
	MoEScratchHighGiB float64
	// CUDAContextGiB is this process's CUDA context, created before vLLM's
	// first memory snapshot and so outside the budget: +621 MiB measured on an
	// H200 (driver 580, torch 2.11; ../shared/gpu/h200-cuda-vs-smi.md).
	CUDAContextGiB float64
	// ColdCompileGiB is what a cold torch.compile (an empty compile cache: a
	// container's first start, or every start without a persistent
	// /root/.cache/vllm, and every new shape) adds to the profile's peak from
	// ColdCompileSince, for models of ColdCompileFullB parameters or more:
	// Inductor and Triton autotuning allocate inside the profiled window and
	// vLLM charges them as activation (vllm#54122, vllm#54383; fixes PR
	// #54209 and PR #54479 open in September 2026). Measured as 0.99 GiB by a
	// cold and a warm start of one 0.27.1 engine (Qwen3-8B); 0.75 is the
	// middle of the range that brings every issue 13 row of 0.28–0.31 (4B–14B
	// dense, six sources) within 0.5 GiB, 0.66–0.84. Larger setups report
	// more (2.5 GiB for a 27B NVFP4 checkpoint in 1Cat-vLLM PR #518).
	ColdCompileGiB float64
	// BootMarginGiB is kept free below the boot peak in the utilization a
	// boot-oom-risk fix proposes (a desktop's memory moves).
	BootMarginGiB float64
}{
	ActivationBytesPerTokenPerFFN: 8,
	NonTorchGiB:                   0.35,
	NonTorchTPGiB:                 0.10,
	RankSpreadGiB:                 0.03,
	GraphGiBPer28Layers:           0.50,
	QuantBits: map[string]float64{
		"awq": 4.16, "awq_marlin": 4.16, "auto-round": 4.16, "gptq": 4.16, "gptq_marlin": 4.16, "marlin": 4.16, "bitsandbytes": 4.16,
		"gguf": 4.5, "fp8": 8.06, "fbgemm_fp8": 8.06, "ptpc_fp8": 8.06, "compressed-tensors": 8.06, "mxfp4": 4.25,
		"modelopt_fp4": 4.5, "nvfp4": 4.5, "experts_int8": 8.06,
	},
	BnBWorkspaceGiB:   0.8,
	LargeGPUGiB:       70,
	HeadroomWarn:      0.10,
	MoEScratchGiB:     2.1,
	MoEScratchHighGiB: 2.8,
	CUDAContextGiB:    0.61,
	BootMarginGiB:     0.25,
	ColdCompileGiB:    0.75,
}
