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
// topk_topp_triton is in v0.18.0's API reference): no sort buffers, the
// lean path's 14 B and a cached scratch.
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
	if v == "" || v[0] < '0' || v[0] > '9' { // "latest", "nightly": not a release
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
	InstallImage Install = "image"
	// InstallPip: `pip install vllm` of the release, no extras.
	InstallPip Install = "pip"
)

// Describe says the install in words, for people.
func (i Install) Describe() string {
	switch i {
	case InstallImage:
		return "vLLM's own vllm/vllm-openai image"
	case InstallPip:
		return "a pip install of the wheel"
	}
	return "install unknown (not vLLM's own image)"
}

// SamplerPath is the top-k/top-p implementation vLLM's V1 sampler takes in
// the profile run's warm-up; each holds its own buffers at the peak.
type SamplerPath string

// The top-k/top-p implementations whose warm-up peaks differ.
const (
	SamplerSort       SamplerPath = "PyTorch sort"
	SamplerFlashInfer SamplerPath = "FlashInfer"
	SamplerTriton     SamplerPath = "Triton"
)

// LeanSamplerBytesPerLogit is the peak per (sequence × vocabulary entry) of
// the FlashInfer and Triton paths: the bf16 logits (2), their float32 copy
// (4), then either FlashInfer's masked logits and probabilities
// (top_k_top_p_sampling_from_logits: 4 + 4) or, after Triton masks the copy
// in place, the softmax probabilities and random_sample's exponential draws
// (4 + 4). Read in vLLM's sampler.py, topk_topp_sampler.py and
// topk_topp_triton.py and flashinfer's sampling.py for issue 13.
const LeanSamplerBytesPerLogit = 14.0

// FlashInferDefaultAgainSince is the first release whose sampler takes
// FlashInfer's kernels by default again where they are installed (vLLM PR
// #40376, merged after 0.19.0), which they are since 0.11.1 (PR #26443).
const FlashInferDefaultAgainSince = 0.20

// tritonBufferSMs is the streaming-multiprocessor count that sizes the
// Triton path's cached float32 scratch of SMs × vocabulary, by card; cards
// not listed take 132 (an H100 SXM's).
var tritonBufferSMs = []struct {
	name string
	sms  int
}{{"h100 pcie", 114}, {"h100", 132}, {"gh200", 132}, {"h200", 132}, {"h20", 78}, {"a100", 108}, {"a800", 108},
	{"l40s", 142}, {"l40", 142}, {"a10g", 80}, {"a10", 72}, {"l4", 58}, {"4090", 128}, {"4080", 76}, {"3090", 82}, {"5090", 170}, {"a6000", 84}}

func smCount(g gpu.GPU) int {
	name := strings.ToLower(g.Name)
	for _, c := range tritonBufferSMs {
		if strings.Contains(name, c.name) {
			return c.sms
		}
	}
	return 132
}

// samplerPath is the path a release takes with this environment and
// install, why, and — when the plan cannot tell — the other path it may take.
// 0.8: the sort path unless an old FlashInfer (< 0.2.3) is installed (PR
// #14815). 0.9 to 0.11.0: FlashInfer when it imports (the vllm-openai image
// has it; a pip wheel of these releases does not pull it) unless
// VLLM_USE_FLASHINFER_SAMPLER=0. 0.11.1 to 0.17: the sort path unless the
// variable is 1 (PR #26859). 0.18 and 0.19: Triton kernels for 8 requests or
// more (PR #33538). From 0.20: FlashInfer again unless the variable is 0.
func samplerPath(release string, env map[string]string, inst Install, n int) (path SamplerPath, why string, other SamplerPath) {
	version := parseVersion(release)
	flag := strings.ToLower(env["VLLM_USE_FLASHINFER_SAMPLER"])
	off, on := flag == "0" || flag == "false", flag == "1" || flag == "true"
	t, known := releaseTriple(release)
	triton := func(why string) (SamplerPath, string, SamplerPath) {
		if n < 8 { // topk_topp_triton runs for 8 requests or more
			return SamplerSort, why + "; vLLM's Triton kernels start at 8 requests", ""
		}
		return SamplerTriton, why, ""
	}
	switch {
	case version >= FlashInferDefaultAgainSince && off:
		return triton("VLLM_USE_FLASHINFER_SAMPLER=0")
	case version >= FlashInferDefaultAgainSince:
		return SamplerFlashInfer, "vLLM's default from 0.20 (FlashInfer is a dependency)", ""
	case version >= TritonSamplerSince && on:
		return SamplerFlashInfer, "VLLM_USE_FLASHINFER_SAMPLER=1", ""
	case version >= TritonSamplerSince:
		return triton("vLLM's default on 0.18 and 0.19")
	case known && !tripleLess(t, SortSamplerDefaultSince):
		if on {
			return SamplerFlashInfer, "VLLM_USE_FLASHINFER_SAMPLER=1", ""
		}
		return SamplerSort, "vLLM's default from 0.11.1 to 0.17", ""
	case off:
		return SamplerSort, "VLLM_USE_FLASHINFER_SAMPLER=0", ""
	case inst == InstallPip && known:
		return SamplerSort, "a pip install before 0.11.1 has no FlashInfer without the vllm[flashinfer] extra", ""
	case version < 0.09:
		return SamplerSort, "0.8 takes FlashInfer's kernels only below FlashInfer 0.2.3, whatever VLLM_USE_FLASHINFER_SAMPLER says", SamplerFlashInfer
	case inst == InstallImage:
		return SamplerFlashInfer, "the vllm-openai image has FlashInfer", ""
	case on:
		return SamplerFlashInfer, "VLLM_USE_FLASHINFER_SAMPLER=1, where FlashInfer is installed", SamplerSort
	}
	return SamplerFlashInfer, "FlashInfer where it is installed", SamplerSort
}

// samplerWarmup is the profile run's sampler warm-up peak in GiB for seqs
// dummy requests over vocab on g, its formula, and — where the path is not
// certain — a note giving the other path's figure, and that figure in GiB.
// Nothing before V1.
func samplerWarmup(seqs, batched, vocab int, release string, env map[string]string, inst Install, g gpu.GPU) (gibs float64, formula, note string, otherGiB float64) {
	if vocab <= 0 || parseVersion(release) < v1Since {
		return 0, "", "", 0
	}
	n := min(seqs, max(batched, 1))
	logits := float64(n) * float64(vocab)
	bytesFor := func(p SamplerPath) (float64, string) {
		switch p {
		case SamplerSort:
			return logits * SortSamplerBytesPerLogit, fmt.Sprintf("%g B (measured)", SortSamplerBytesPerLogit)
		case SamplerTriton:
			sms := smCount(g)
			return logits*LeanSamplerBytesPerLogit + float64(min(sms, n))*float64(vocab)*4,
				fmt.Sprintf("%g B + a cached float32 scratch of %d SMs × vocabulary", LeanSamplerBytesPerLogit, min(sms, n))
		}
		return logits * LeanSamplerBytesPerLogit, fmt.Sprintf("%g B", LeanSamplerBytesPerLogit)
	}
	path, why, other := samplerPath(release, env, inst, n)
	b, per := bytesFor(path)
	formula = fmt.Sprintf("the sampler warm-up: %s top-k/top-p (%s) over min(max_num_seqs %s, batched tokens %s) × vocabulary %s × %s",
		path, why, vllm.Commas(seqs), vllm.Commas(batched), vllm.Commas(vocab), per)
	if other != "" {
		ob, _ := bytesFor(other)
		otherGiB = ob / gib
		where := ""
		if other == SamplerSort {
			where = " (FlashInfer missing: a pip install before 0.11.1 has it only with the vllm[flashinfer] extra, the vllm-openai image has it)"
		}
		settle := "set VLLM_USE_FLASHINFER_SAMPLER=0 in the environment to count the PyTorch path for certain"
		if other == SamplerFlashInfer {
			settle = "the FlashInfer release installed decides"
		}
		note = fmt.Sprintf("the sampler warm-up is taken as %s's (%.2f GiB over %s requests × %s vocabulary); if vLLM takes its %s path instead%s, the warm-up is %.2f GiB — the log says which (`Using FlashInfer for top-p & top-k sampling` or `Falling back to the PyTorch-native implementation of top-p & top-k sampling`); %s, or lower --max-num-seqs",
			path, b/gib, vllm.Commas(n), vllm.Commas(vocab), other, where, ob/gib, settle)
	}
	return b / gib, formula, note, otherGiB
}
