package plan

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// TestMXFP4WeightsQuantizeExpertsOnly works the weight bytes of the gpt-oss
// checkpoints by hand: MoE experts (layers × experts × 3 × hidden ×
// intermediate) at 4.25 bits, every other parameter (attention, router,
// embeddings, lm_head) at 16 bits.
func TestMXFP4WeightsQuantizeExpertsOnly(t *testing.T) {
	for _, tc := range []struct {
		id      string
		experts float64
		params  float64
	}{
		{"openai/gpt-oss-20b", 24 * 32 * 3 * 2880 * 2880, 20.9e9},
		{"openai/gpt-oss-120b", 36 * 128 * 3 * 2880 * 2880, 116.8e9},
	} {
		m, ok := LookupModel(tc.id)
		if !ok {
			t.Fatalf("%s not in the catalog", tc.id)
		}
		if m.CheckpointQ != "mxfp4" || m.ExpertFFN != 2880 {
			t.Fatalf("%s: checkpoint %q, expert intermediate %d", tc.id, m.CheckpointQ, m.ExpertFFN)
		}
		want := tc.experts*4.25/8 + (tc.params-tc.experts)*2
		got, bits := weightBytes(m, "mxfp4", "")
		if math.Abs(got-want) > 1 {
			t.Errorf("%s: %.0f B, want %.0f B", tc.id, got, want)
		}
		if math.Abs(bits-want*8/tc.params) > 1e-9 {
			t.Errorf("%s: %.4f effective bits, want %.4f", tc.id, bits, want*8/tc.params)
		}
		// The previous rule (all non-embedding parameters at 4.25 bits) gave less.
		if old := (tc.params-2*201088*2880)*4.25/8 + 2*201088*2880*2; got <= old {
			t.Errorf("%s: %.2f GiB is not above the all-quantized %.2f GiB", tc.id, got/gib, old/gib)
		}
	}
}

// TestMXFP4KernelPadding works vLLM's MXFP4 MoE padding by hand for gpt-oss
// (hidden 2880, expert intermediate 2880): Marlin rounds hidden to 256 (3072)
// and the intermediate per rank to 128 (2944; 1536 for 1440 at TP 2), Triton
// the intermediate to 64 (2880 stays), at 4.25 bits per value.
func TestMXFP4KernelPadding(t *testing.T) {
	const bits = 4.25 / 8
	for _, tc := range []struct {
		model, gpuName, version string
		tp                      int
		backend                 string
		want                    float64 // bytes per rank
	}{
		{"openai/gpt-oss-120b", "H100 80GB", "0.10.1", 1, "marlin", 36 * 128 * 3 * (3072*2944 - 2880*2880) * bits},
		{"openai/gpt-oss-120b", "NVIDIA H100 80GB HBM3", "0.11.0", 1, "marlin", 36 * 128 * 3 * (3072*2944 - 2880*2880) * bits},
		{"openai/gpt-oss-120b", "H100 80GB", "0.14.1", 1, "triton", 0},
		{"openai/gpt-oss-20b", "A100 80GB", "0.19.0", 1, "marlin", 24 * 32 * 3 * (3072*2944 - 2880*2880) * bits},
		{"openai/gpt-oss-20b", "RTX 3090", "0.19.0", 2, "marlin", 24 * 32 * 3 * (3072*1536 - 2880*1440) * bits},
		{"openai/gpt-oss-20b", "B200", "0.19.0", 1, "", 0},
		{"openai/gpt-oss-20b", "GPU 79GiB", "0.19.0", 1, "", 0},
	} {
		k := mxfp4KernelFor(gpu.GPU{Name: tc.gpuName}, parseVersion(tc.version))
		if k.Backend != tc.backend || k.Why == "" {
			t.Errorf("%s on %s %s: backend %q (%s), want %q", tc.model, tc.gpuName, tc.version, k.Backend, k.Why, tc.backend)
		}
		if got := mxfp4PaddingBytes(model(t, tc.model), k, tc.tp, 1); math.Abs(got-tc.want) > 1 {
			t.Errorf("%s on %s %s TP %d: padding %.0f B, want %.0f B", tc.model, tc.gpuName, tc.version, tc.tp, got, tc.want)
		}
	}
	// A live GPU's compute capability decides over its name.
	if k := mxfp4KernelFor(gpu.GPU{Name: "some card", ComputeCap: "8.6"}, 0.19); k.Backend != "marlin" {
		t.Errorf("compute_cap 8.6: backend %q, want marlin", k.Backend)
	}
}

// TestMXFP4WeightsAsLogged: with the padding, the weights the planner gives
// gpt-oss match vLLM's "Model loading took" lines within 0.2 GiB, where the
// unpadded checkpoint size was 0.9 and 5.3 GiB short.
func TestMXFP4WeightsAsLogged(t *testing.T) {
	for _, tc := range []struct {
		source, model, card, version string
		util, logged                 float64
	}{
		{"vllm#23278 (0.10.1, Marlin logged)", "openai/gpt-oss-120b", "H100 80GB", "0.10.1", 0.9, 65.9651},
		{"myoceane.fr A100 row (0.19.0)", "openai/gpt-oss-20b", "A100 80GB", "0.19.0", 0.65, 13.72},
	} {
		g, err := gpu.Declare(tc.card, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		res := Estimate(Input{Model: model(t, tc.model), Args: vllm.Parse([]string{"--max-model-len=131072", "--gpu-memory-utilization=" + strconv.FormatFloat(tc.util, 'f', -1, 64)}), GPUs: g, Version: tc.version})
		if len(res.Ranks) == 0 {
			t.Fatalf("%s: no rank: %+v", tc.source, res)
		}
		if w := res.Ranks[0].Weights; math.Abs(w-tc.logged) > 0.2 {
			t.Errorf("%s %s: weights %.2f GiB, vLLM logged %.2f", tc.source, tc.model, w, tc.logged)
		}
		if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.HasPrefix(n, "MXFP4 experts: ") }) {
			t.Errorf("%s: no note on the MXFP4 kernel: %q", tc.source, res.Notes)
		}
	}
}

// TestA100KeepsSmallDefaults: from 0.9 vLLM gives GPUs of 70 GiB or more
// max_num_batched_tokens 8192 unless "a100" is in the device name (PR #17885);
// the profile run, and so the activation peak, follows.
func TestA100KeepsSmallDefaults(t *testing.T) {
	for _, tc := range []struct {
		card, version string
		want          int
	}{
		{"A100 80GB", "0.19.0", 2048},
		{"H100 80GB", "0.19.0", 8192},
		{"A800 80GB", "0.19.0", 8192}, // vLLM tests the name for "a100" only
		{"A100 40GB", "0.19.0", 2048},
	} {
		g, err := gpu.Declare(tc.card, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		res := Estimate(Input{Model: model(t, "Qwen/Qwen3-1.7B"), Args: vllm.Parse([]string{"--max-model-len=4096"}), GPUs: g, Version: tc.version})
		if res.BatchedTokens != tc.want {
			t.Errorf("%s %s: %d batched tokens profiled, want %d", tc.card, tc.version, res.BatchedTokens, tc.want)
		}
	}
}

func TestGPUMajor(t *testing.T) {
	for name, want := range map[string]int{
		"NVIDIA A100-SXM4-80GB": 8, "NVIDIA GeForce RTX 3090": 8, "RTX 4090": 8, "L40S": 8,
		"NVIDIA H100 80GB HBM3": 9, "H200": 9, "NVIDIA GH200 480GB": 9,
		"B200": 10, "NVIDIA GeForce RTX 5090": 12, "DGX Spark GB10 (unified memory)": 12,
		"Tesla V100-SXM2-32GB": 7, "GPU 79GiB": 0,
	} {
		if got := gpuMajor(gpu.GPU{Name: name}); got != want {
			t.Errorf("%s: SM %d, want %d", name, got, want)
		}
	}
}

// TestSamplerWarmup: the profile's peak is the sampler warm-up when it is
// above the forward pass, min(max_num_seqs, batched tokens) × vocab × the
// bytes of the path vLLM takes: 38 B on the PyTorch sort path (measured),
// 14 B on FlashInfer's, 14 B and a scratch of SMs × vocab × 4 B on 0.18's
// Triton path. gpt-oss-120b on an H100: 1,024 default sequences × 201,088.
func TestSamplerWarmup(t *testing.T) {
	g, err := gpu.Declare("H100 80GB", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	m := model(t, "openai/gpt-oss-120b")
	logits := 1024 * 201088.0
	sort, lean := logits*38/(1<<30), logits*14/(1<<30)
	triton := lean + 132*201088*4.0/(1<<30)
	argv := []string{"--max-model-len=131072", "--gpu-memory-utilization=0.9"}
	noted := func(r Result) bool {
		return slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "the sampler warm-up is taken as") })
	}
	off, on := map[string]string{"VLLM_USE_FLASHINFER_SAMPLER": "0"}, map[string]string{"VLLM_USE_FLASHINFER_SAMPLER": "1"}
	for _, tc := range []struct {
		version string
		env     map[string]string
		inst    Install
		want    float64
		noted   bool
	}{
		// Before 0.11.1 the install decides: FlashInfer in the vllm-openai
		// image, none in a pip wheel; unknown: FlashInfer's, with a note.
		{"0.10.1", nil, InstallUnknown, lean, true},
		{"0.10.1", nil, InstallImage, lean, false},
		{"0.10.1", nil, InstallPip, sort, false},
		{"0.11.0", nil, InstallPip, sort, false},
		{"0.10.0", nil, InstallPip, sort, false},
		{"0.10.1", off, InstallImage, sort, false},
		{"0.10.1", on, InstallPip, sort, false},  // nothing to import: the PyTorch path anyway
		{"0.8.5", nil, InstallImage, sort, true}, // FlashInfer only below 0.2.3
		// 0.11.1–0.17: the sort path unless the variable opts in.
		{"0.11.1", nil, InstallUnknown, sort, false},
		{"0.14.1", nil, InstallImage, sort, false},
		{"0.14.1", on, InstallUnknown, lean, false},
		{"0.17.0", nil, InstallUnknown, sort, false},
		// 0.18–0.19: Triton; 0.20 on: FlashInfer again.
		{"0.18.0", nil, InstallUnknown, triton, false},
		{"0.19.0", on, InstallUnknown, lean, false},
		{"0.21.0", nil, InstallUnknown, lean, false},
		{"0.21.0", off, InstallUnknown, triton, false},
		// An unknown release takes 0.11's rules (FlashInfer where installed).
		{"", nil, InstallUnknown, lean, true},
	} {
		r := Estimate(Input{Model: m, Args: vllm.Parse(argv), GPUs: g, Version: tc.version, Environ: tc.env, Install: tc.inst})
		if a := r.Ranks[0].Activation; math.Abs(a-tc.want) > 0.006 { // ranks carry 2 decimals
			t.Errorf("%q %v %q: activation %.3f GiB, want %.3f", tc.version, tc.env, tc.inst, a, tc.want)
		}
		if got := noted(r); got != tc.noted {
			t.Errorf("%q %v %q: noted %v, want %v: %q", tc.version, tc.env, tc.inst, got, tc.noted, r.Notes)
		}
	}
	// The note gives the other path's figure and where FlashInfer is missing.
	r := Estimate(Input{Model: m, Args: vllm.Parse(argv), GPUs: g, Version: "0.10.1"})
	if !slices.ContainsFunc(r.Notes, func(n string) bool {
		return strings.Contains(n, "vllm[flashinfer]") && strings.Contains(n, "vllm-openai image") && strings.Contains(n, "7.29 GiB")
	}) {
		t.Errorf("0.10.1 note does not give the sort path's figure and where FlashInfer is missing: %q", r.Notes)
	}
	// --max-num-seqs bounds the dummy requests; under 8 on 0.18 the sort path runs.
	few := Estimate(Input{Model: m, Args: vllm.Parse(append(argv, "--max-num-seqs=64")), GPUs: g, Version: "0.10.1", Environ: off})
	if few.Ranks[0].Activation >= 1 {
		t.Errorf("64 sequences: activation %.2f GiB", few.Ranks[0].Activation)
	}
	// The 8-request threshold is the Triton kernels' alone; 0.8 ignores the
	// variable; an unknown install with the variable set may lack FlashInfer.
	for _, tc := range []struct {
		release string
		env     map[string]string
		inst    Install
		n       int
		want    SamplerPath
		other   SamplerPath
	}{
		{"0.18.0", nil, InstallUnknown, 4, SamplerSort, ""},
		{"0.18.0", on, InstallUnknown, 4, SamplerFlashInfer, ""},
		{"0.20.0", nil, InstallUnknown, 4, SamplerFlashInfer, ""},
		{"0.20.0", off, InstallUnknown, 4, SamplerSort, ""},
		{"0.20.0", off, InstallUnknown, 256, SamplerTriton, ""},
		{"0.8.5", on, InstallImage, 256, SamplerSort, SamplerFlashInfer},
		{"0.10.1", on, InstallUnknown, 256, SamplerFlashInfer, SamplerSort},
		{"0.10.1", on, InstallImage, 256, SamplerFlashInfer, ""},
		{"latest", nil, InstallPip, 256, SamplerFlashInfer, SamplerSort}, // not a release: no pip rule applies
	} {
		p, _, o := samplerPath(tc.release, tc.env, tc.inst, tc.n)
		if p != tc.want || o != tc.other {
			t.Errorf("%q %v %q n %d: %s (or %q), want %s (or %q)", tc.release, tc.env, tc.inst, tc.n, p, o, tc.want, tc.other)
		}
	}
	if _, ok := releaseTriple("latest"); ok {
		t.Errorf("releaseTriple(latest) is a release")
	}
}
