package plan

import (
	"fmt"
	"strings"

	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// SortSamplerBytesPerLogit is the peak, per (sequence × vocabulary entry), of
// the profile run's sampler warm-up when vLLM's V1 sampler takes its
// PyTorch-native top-k/top-p path: _dummy_sampler_run computes bf16 logits
// for min(max_num_seqs, max_num_batched_tokens) dummy requests, the sampler
// casts them to float32 and sorts them (dummy top_k = vocab − 1, top_p 0.9).
// Measured on an H100 with torch 2.11 on that code path (the 0.10 sampler:
// to(float32), argmax, temperature in place, sort, gather, softmax, cumsum,
// masks, scatter): 7.290 GiB for 1,024 × 201,088 and 1.823 GiB for 256 ×
// 201,088, i.e. 38.02 B — bf16 logits 2 + float32 copy 4 + the sort's 32
// (its 4 B values and 8 B int64 indices plus as much again of scratch).
const SortSamplerBytesPerLogit = 38.0

// TritonSamplerSince is the first release whose top-k/top-p runs in Triton
// kernels for batches of 8 or more (vLLM PR #33538, opened 2026-02-02;
// topk_topp_triton is in v0.18.0's API reference), using no sort buffers.
const TritonSamplerSince = 0.18

// v1Since is the first release whose engine is V1 by default (0.8), the one
// with _dummy_sampler_run in its profile run.
const v1Since = 0.08

// defaultMaxNumSeqs is vLLM V1's max_num_seqs when the flag is not given:
// 1,024 on GPUs of 70 GiB or more (from 0.9 unless "a100" is in the name,
// PR #17885), else 256.
func defaultMaxNumSeqs(a vllm.Args, gpus []gpu.GPU, minTotal, version float64) int {
	if a.IsSet("max-num-seqs") && a.MaxNumSeqs > 0 {
		return a.MaxNumSeqs
	}
	if len(gpus) > 0 && minTotal >= Overheads.LargeGPUGiB && !(version >= 0.09 && isA100(gpus[0])) {
		return 1024
	}
	return 256
}

// SortSamplerDefaultSince is the first release whose V1 sampler takes the
// PyTorch top-k/top-p path whatever is installed: vLLM PR #26859 ("Disable
// FlashInfer sampler by default", merged 2025-10-15, in 0.11.1) made
// FlashInfer's kernels opt-in (VLLM_USE_FLASHINFER_SAMPLER=1; PR #29415), and
// the PyTorch path stays the default until the Triton kernels of 0.18.
var SortSamplerDefaultSince = [3]int{0, 11, 1}

// releaseTriple reads "0.11.1" (or "v0.11.1rc2") into its numbers; ok is
// false when the release is not known.
func releaseTriple(v string) ([3]int, bool) {
	var out [3]int
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	if v == "" {
		return out, false
	}
	for i, part := range strings.SplitN(v, ".", 3) {
		n := 0
		for _, c := range part {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		out[i] = n
	}
	return out, true
}

func tripleLess(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// Install is how vLLM is installed where the engine runs, as far as it
// decides what flags cannot tell: whether FlashInfer's kernels can be imported.
type Install string

// How vLLM is installed.
const (
	// InstallUnknown: a custom image or an image the plan cannot read.
	InstallUnknown Install = ""
	// InstallImage: vLLM's own vllm/vllm-openai image (or a Dockerfile FROM
	// it), which has FlashInfer ("We have installed flashinfer by default in
	// the docker image for a long time", vLLM PR #21389, July 2025).
	InstallImage Install = "vllm-openai image"
	// InstallPip: `pip install vllm` of the release, no extras.
	InstallPip Install = "pip wheel"
)

// pipFlashInferFrom and pipFlashInferExtraFrom bound the releases whose wheel
// does not pull flashinfer-python: vLLM PR #21959 (2025-07-30, first in
// 0.10.1) moved it to the vllm[flashinfer] extra, PR #26443 (2025-10-08,
// first in 0.11.1) made it a default dependency again.
var (
	pipFlashInferExtraFrom = [3]int{0, 10, 1}
	pipFlashInferFrom      = [3]int{0, 11, 1}
)

// pipLacksFlashInfer reports whether a plain pip install of the release has
// no FlashInfer, and whether that is known.
func pipLacksFlashInfer(t [3]int) (lacks, known bool) {
	if tripleLess(t, pipFlashInferExtraFrom) {
		return false, false
	}
	return tripleLess(t, pipFlashInferFrom), true
}

// sortSampler is the PyTorch sort sampler's warm-up peak in GiB for seqs
// dummy requests over vocab, whether the plan counts it, and why it does —
// or, when it may run but the plan cannot tell, a note. Counted on releases from 0.11.1 to 0.17,
// where it is the default (unless VLLM_USE_FLASHINFER_SAMPLER=1), and on
// earlier V1 releases when VLLM_USE_FLASHINFER_SAMPLER=0 or FlashInfer is not
// installed; on those earlier releases vLLM otherwise uses FlashInfer's
// kernels when FlashInfer imports (TopKTopPSampler: "Using FlashInfer for
// top-p & top-k sampling." unless VLLM_USE_FLASHINFER_SAMPLER is 0, whose
// unset value means on in V1). The vllm-openai image has FlashInfer, so there
// the default stays uncounted; a pip install of 0.10.1 or 0.11.0 has it only
// with the vllm[flashinfer] extra, and then the log says "FlashInfer is not
// available. Falling back to the PyTorch-native implementation of top-p &
// top-k sampling": counted. Where the install is unknown the plan notes the
// figure. From 0.18 the Triton kernels need no sort buffers: nothing counted.
func sortSampler(seqs, batched, vocab int, release string, env map[string]string, inst Install) (float64, bool, string) {
	version := parseVersion(release)
	if vocab <= 0 || version < v1Since || version >= TritonSamplerSince {
		return 0, false, ""
	}
	n := min(seqs, max(batched, 1))
	gib := float64(n) * float64(vocab) * SortSamplerBytesPerLogit / (1 << 30)
	flag := strings.ToLower(env["VLLM_USE_FLASHINFER_SAMPLER"])
	off, on := flag == "0" || flag == "false", flag == "1" || flag == "true"
	t, known := releaseTriple(release)
	if known && !tripleLess(t, SortSamplerDefaultSince) {
		if on {
			return gib, false, ""
		}
		return gib, true, "vLLM's default path from 0.11.1 to 0.17"
	}
	if off {
		return gib, true, "VLLM_USE_FLASHINFER_SAMPLER=0"
	}
	if inst == InstallPip && known {
		if lacks, sure := pipLacksFlashInfer(t); sure {
			return gib, lacks, "a pip install of 0.10.1 or 0.11.0 has no FlashInfer without the vllm[flashinfer] extra"
		}
	}
	if on || inst == InstallImage {
		return gib, false, ""
	}
	return gib, false, fmt.Sprintf("if vLLM falls back to its PyTorch top-k/top-p sampler (FlashInfer not installed or disabled: the vllm-openai image has it, a pip install of 0.10.1 or 0.11.0 only with vllm[flashinfer]; the log says `Falling back to the PyTorch-native implementation of top-p & top-k sampling`), the profile's sampler warm-up over %s requests × %s vocabulary takes %.2f GiB (38 B each, measured), which is not counted here: set VLLM_USE_FLASHINFER_SAMPLER=0 in the environment to count it, or lower --max-num-seqs",
		vllm.Commas(n), vllm.Commas(vocab), gib)
}
