package plan

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// vLLM's default capture sizes: 1, 2, 4, every 8 to 256, every 16 to 512;
// every 8 to 512 on 0.10 (the 0.10.1.1 sample log lists 67).
func TestCaptureSizes(t *testing.T) {
	for largest, want := range map[int]int{1: 1, 4: 3, 16: 5, 256: 35, 272: 36, 280: 36, 512: 51} {
		if got := captureSizes(largest, 0.11); got != want {
			t.Errorf("sizes up to %d: %d, want %d", largest, got, want)
		}
	}
	if got := captureSizes(512, 0.10); got != 67 {
		t.Errorf("0.10 sizes up to 512: %d, want 67", got)
	}
}

func TestGraphShare(t *testing.T) {
	for _, tc := range []struct {
		argv    []string
		seqs    int
		batched int
		version float64
		want    float64
	}{
		{nil, 256, 8192, 0.11, 1},
		{nil, 1024, 8192, 0.11, 1},
		{nil, 8, 64000, 0.11, 5.0 / 51},
		{nil, 8, 64000, 0.10, 5.0 / 67},
		{nil, 128, 8192, 0.11, 35.0 / 51},
		{nil, 256, 128, 0.11, 19.0 / 51}, // capped by the batched tokens
		{nil, 8, 8192, 0.09, 1},          // before the sizes followed max_num_seqs
		{[]string{"--enforce-eager"}, 256, 8192, 0.11, 0},
		{[]string{`--compilation-config={"cudagraph_capture_sizes":[1,2,4]}`}, 256, 8192, 0.11, 3.0 / 51},
		{[]string{`--compilation-config={"max_cudagraph_capture_size":16}`}, 256, 8192, 0.11, 5.0 / 51},
		{[]string{`--compilation-config={"cudagraph_mode":"NONE"}`}, 256, 8192, 0.11, 0},
		{[]string{"-O3"}, 8, 8192, 0.11, 1}, // a level, no sizes: the default figure
		{[]string{"--cuda-graph-sizes=8"}, 8, 8192, 0.11, 1},
	} {
		got, _ := graphShare(vllm.Parse(tc.argv), tc.seqs, tc.batched, tc.version)
		if math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%v seqs %d batched %d at %.2f: %.3f, want %.3f", tc.argv, tc.seqs, tc.batched, tc.version, got, tc.want)
		}
	}
}

// vllm#28228: Kimi-Linear AWQ at TP 2 on two RTX 3090 at 0.95 started
// (room beside the budget 1.18 GiB). With --max-num-seqs 8 vLLM captures 5
// graphs, not 51: the graphs and the capture-time MoE buffers are a tenth of
// the default's, and the boot peak fits. The same engine at the default 256
// sequences keeps the measured 2.1–2.8 GiB and the risk.
func TestBootPeakFollowsCapturedGraphs(t *testing.T) {
	m := model(t, "cyankiwi/Kimi-Linear-48B-A3B-Instruct-AWQ-4bit")
	g, _ := gpu.Declare("RTX 3090", "", 2)
	argv := []string{"--tensor-parallel-size=2", "--max-model-len=120000", "--max-num-batched-tokens=64000", "--gpu-memory-utilization=0.95"}
	few := Estimate(Input{Model: m, Args: vllm.Parse(append(argv, "--max-num-seqs=8")), GPUs: g, Version: "0.11.1"})
	if few.Verdict != Fits {
		t.Errorf("8 sequences: %s (%v), want fits", few.Verdict, few.Reasons)
	}
	if few.OutsideHighGiB > 0.9 || few.OutsideGiB < Overheads.CUDAContextGiB {
		t.Errorf("8 sequences: %.2f–%.2f GiB outside the budget", few.OutsideGiB, few.OutsideHighGiB)
	}
	var graphs string
	for _, l := range few.Explain {
		if strings.HasPrefix(l.Name, "CUDA graphs") {
			graphs = l.Formula
		}
	}
	if !strings.Contains(graphs, "5 of the default 51 capture sizes") {
		t.Errorf("graph formula %q", graphs)
	}
	def := Estimate(Input{Model: m, Args: vllm.Parse(argv), GPUs: g, Version: "0.11.1"})
	if def.Verdict != BootOOMRisk || def.OutsideGiB != Overheads.MoEScratchGiB || def.OutsideHighGiB != Overheads.MoEScratchHighGiB {
		t.Errorf("default sequences: %s, %.2f–%.2f GiB outside", def.Verdict, def.OutsideGiB, def.OutsideHighGiB)
	}
	eager := Estimate(Input{Model: m, Args: vllm.Parse(append(argv, "--enforce-eager")), GPUs: g, Version: "0.11.1"})
	if eager.OutsideHighGiB != Overheads.CUDAContextGiB || eager.Verdict != Fits {
		t.Errorf("eager: %s, %.2f GiB outside, want only the context", eager.Verdict, eager.OutsideHighGiB)
	}
	if !slices.ContainsFunc(eager.Explain, func(l Line) bool {
		return strings.HasPrefix(l.Name, "CUDA graphs") && strings.Contains(l.Formula, "× 0.00 (--enforce-eager)")
	}) {
		t.Errorf("eager: the graph formula does not say why it is 0: %+v", eager.Explain)
	}
}
