package plan

import (
	"math"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// The fused-MoE path follows the experts' quantization and the GPU.
func TestMoEKernelFor(t *testing.T) {
	a100, h100 := gpu.GPU{Name: "NVIDIA A100-SXM4-80GB"}, gpu.GPU{Name: "NVIDIA H100 80GB HBM3"}
	for _, tc := range []struct {
		quant   string
		g       gpu.GPU
		version float64
		want    MoEKernel
	}{
		{"awq", h100, 0.11, MoEMarlin}, {"gptq_marlin", a100, 0.19, MoEMarlin},
		{"mxfp4", a100, 0.19, MoEMarlin}, {"mxfp4", h100, 0.11, MoEMarlin}, {"mxfp4", h100, 0.14, MoEOGS},
		{"", h100, 0.19, MoETriton}, {"fp8", h100, 0.19, MoETriton},
	} {
		if got := moeKernelFor(tc.quant, tc.g, tc.version); got != tc.want {
			t.Errorf("%q on %s at %.2f: %s, want %s", tc.quant, tc.g.Name, tc.version, got, tc.want)
		}
	}
}

// Kimi-Linear AWQ at TP 2 with 64,000 batched tokens (vllm#28228): Marlin
// never chunks, so one MoE layer holds 64,000 × (8 × (max(1,024, 2,304) +
// 512) + 2,304) × 2 B of kernel buffers beside 64,000 × (3 × 2,304 + 256) ×
// 2 B + 64,000 × 8 × 8 B of the layer: 4,099,584,000 B.
func TestMoEActivationKimiLinear(t *testing.T) {
	m := model(t, "cyankiwi/Kimi-Linear-48B-A3B-Instruct-AWQ-4bit")
	got, how := moeActivation(m, MoEMarlin, 64000, 2, nil)
	if want := 2*64000*(8*(2304+512)+2304.0) + 2*64000*(3*2304+256.0) + 8*64000*8.0; got != want {
		t.Errorf("%.0f B, want %.0f", got, want)
	}
	if !strings.Contains(how, "Marlin") || !strings.Contains(how, "I = 512 per rank") {
		t.Errorf("formula %q", how)
	}
	// The estimate takes it over the dense first layer's FFN (2.20 GiB).
	g, _ := gpu.Declare("RTX 3090", "", 2)
	a := vllm.Parse([]string{"--tensor-parallel-size=2", "--max-model-len=120000", "--max-num-batched-tokens=64000", "--max-num-seqs=8", "--gpu-memory-utilization=0.95"})
	r := Estimate(Input{Model: m, Args: a, GPUs: g, Version: "0.11.1"})
	if act := r.Ranks[0].Activation; math.Abs(act-got/gib) > 0.006 {
		t.Errorf("activation %.2f GiB, want the MoE layer's %.2f", act, got/gib)
	}
}

// Triton's fused_experts chunks the tokens (VLLM_FUSED_MOE_CHUNK_SIZE); the
// output and the layer's tensors stay whole.
func TestMoEActivationChunked(t *testing.T) {
	m := model(t, "Qwen/Qwen3-30B-A3B")
	whole, _ := moeActivation(m, MoETriton, 16384, 1, nil)
	chunked, how := moeActivation(m, MoETriton, 16384, 1, map[string]string{"VLLM_FUSED_MOE_CHUNK_SIZE": "4096"})
	I, K := float64(m.ExpertFFN), float64(m.Hidden)
	perSlot := 2 * float64(m.ExpertsPerTok) * (max(2*I, K) + I)
	if d := whole - chunked; math.Abs(d-perSlot*(16384-4096)) > 1 {
		t.Errorf("chunking 16,384 tokens by 4,096 saves %.0f B, want %.0f", d, perSlot*(16384-4096))
	}
	if !strings.Contains(how, "chunk 4,096") {
		t.Errorf("formula %q", how)
	}
	// A dense model has no MoE term.
	if b, _ := moeActivation(model(t, "Qwen/Qwen3-8B"), MoETriton, 8192, 1, nil); b != 0 {
		t.Errorf("dense model: %.0f B", b)
	}
}
