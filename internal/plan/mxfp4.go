package plan

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vllmctl/vllmctl/internal/gpu"
)

// gpuMajor is the CUDA compute capability's major number of a GPU: the
// nvidia-smi compute_cap of a live GPU, else read from the card's name
// (Ampere and Ada 8, Hopper 9, data-centre Blackwell 10, consumer Blackwell
// and GB10 12); 0 when the name says nothing.
func gpuMajor(g gpu.GPU) int {
	if g.ComputeCap != "" {
		if f, err := strconv.ParseFloat(strings.TrimSpace(g.ComputeCap), 64); err == nil {
			return int(f)
		}
	}
	n := strings.ToLower(g.Name)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(n, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("blackwell", "gb10", "spark", "rtx 50", "5090", "5080", "5070", "5060"):
		return 12
	case has("b200", "b100", "b300", "gb200", "gb300"):
		return 10
	case has("h100", "h200", "h800", "h20", "gh200"):
		return 9
	case has("a100", "a800", "a10", "a30", "a40", "a6000", "a5000", "a4000", "rtx 30", "3090", "3080", "3070", "3060",
		"rtx 40", "4090", "4080", "4070", "4060", "l4", "l40", "ada"):
		return 8
	case has("v100", "t4", "rtx 20", "2080"):
		return 7
	}
	return 0
}

// mxfp4Kernel is the MoE kernel vLLM picks for MXFP4 experts and the sizes it
// allocates them at.
type mxfp4Kernel struct {
	Backend     string // "marlin", "triton", or "" when not modelled
	HiddenAlign int    // hidden_size rounded up to this (0: unchanged)
	InterAlign  int    // intermediate size per partition rounded up to this
	Why         string
}

// mxfp4KernelFor follows vLLM's choice of MXFP4 MoE backend and its padding
// (vllm/model_executor/layers/fused_moe/oracle/mxfp4.py,
// mxfp4_round_up_hidden_size_and_intermediate_size; before the oracle the same
// rounding sat in Mxfp4MoEMethod.create_weights of quantization/mxfp4.py):
//   - Marlin pads hidden_size to 256 and the intermediate size to 128 ("the moe
//     marlin kernel requires that for each linear n % 256 == 0 and k % 128 == 0").
//     vLLM takes it where OpenAI's triton_kernels cannot run: below SM 9.0
//     (triton_kernels is supported on 9.0 ≤ capability < 11.0), and on Hopper
//     when triton_kernels is not importable, which was the case of vLLM's pip
//     wheels up to 0.11 (vllm#23278 on 0.10.1 logs the Marlin path on an H100;
//     vllm#26582 on 0.11.0: "Failed to import Triton kernels").
//   - Triton (Hopper from 0.12, assumed: vllm#33155 logs it on 0.14.1) rounds
//     the intermediate size to 64 and keeps hidden_size; the swizzled layout
//     triton_kernels converts the weights to is not counted.
//   - Blackwell backends (FlashInfer TRT-LLM, CUTLASS, Marlin on SM 12.x) and
//     unknown GPUs: padding not modelled.
func mxfp4KernelFor(g gpu.GPU, version float64) mxfp4Kernel {
	major := gpuMajor(g)
	switch {
	case major == 0:
		return mxfp4Kernel{Why: fmt.Sprintf("GPU %q: architecture not known, so the MXFP4 MoE backend and its padding are not modelled", g.Name)}
	case major < 9:
		return mxfp4Kernel{"marlin", 256, 128, fmt.Sprintf("SM %d.x: triton_kernels needs SM 9.0–10.x, vLLM uses the Marlin MXFP4 MoE kernel", major)}
	case major == 9 && version < 0.12:
		return mxfp4Kernel{"marlin", 256, 128, "Hopper before 0.12: vLLM's wheels had no working triton_kernels (vllm#26582 on 0.11.0), the Marlin MXFP4 MoE kernel is used (logged in vllm#23278 on 0.10.1)"}
	case major == 9:
		return mxfp4Kernel{"triton", 0, 64, "Hopper from 0.12 (assumed; vllm#33155 logs the Triton backend on 0.14.1): triton_kernels' swizzled weight layout is not counted"}
	}
	return mxfp4Kernel{Why: fmt.Sprintf("SM %d.x: the Blackwell MXFP4 MoE backends' padding is not modelled", major)}
}

func roundUp(v, to int) int {
	if to <= 0 {
		return v
	}
	return (v + to - 1) / to * to
}

// mxfp4PaddingBytes is what one rank's MXFP4 experts grow by when the kernel
// pads them: every expert's w13 (2 × intermediate × hidden) and w2 (hidden ×
// intermediate) are allocated at the padded sizes, 4 bits per value plus one
// 8-bit scale per 32 (4.25 bits). TP splits the intermediate size before it is
// rounded; PP splits the layers.
func mxfp4PaddingBytes(m Model, k mxfp4Kernel, tp, pp int) float64 {
	if k.Backend == "" || m.Experts == 0 || m.ExpertFFN == 0 || m.Hidden == 0 {
		return 0
	}
	tp, pp = max(1, tp), max(1, pp)
	inter := m.ExpertFFN / tp
	hp, ip := roundUp(m.Hidden, k.HiddenAlign), roundUp(inter, k.InterAlign)
	layers := (m.Layers + pp - 1) / pp
	extra := float64(layers) * float64(m.Experts) * 3 * (float64(hp)*float64(ip) - float64(m.Hidden)*float64(inter))
	return extra * Overheads.QuantBits["mxfp4"] / 8
}

// isA100 says whether vLLM keeps its small V1 defaults on this GPU although it
// has 70 GiB or more: from 0.9 (PR #17885), vLLM's arg_utils gives
// max_num_batched_tokens 8192 and max_num_seqs 1024 to such GPUs only when
// "a100" is not in the device name (tests/engine/test_arg_utils.py,
// test_defaults_with_usage_context), keeping 2048 and 256 on A100s.
func isA100(g gpu.GPU) bool { return strings.Contains(strings.ToLower(g.Name), "a100") }
