package plan

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vllmctl/vllmctl/internal/vllm"
)

// GraphSizesDefaultMax is the largest CUDA-graph capture size of vLLM V1 by
// default, at which the graph figures of Overheads were logged.
const GraphSizesDefaultMax = 512

// GraphSizesFollowSeqsSince is the first release whose largest capture size
// follows max_num_seqs: min(2 × max_num_seqs, 512), capped at
// max_num_batched_tokens (vLLM PR #20628, 2025-07-08; _set_cudagraph_sizes in
// vllm/config/vllm.py).
const GraphSizesFollowSeqsSince = 0.10

// GraphSizes16StepSince is the first release whose default capture sizes
// step by 16 from 256 ([1, 2, 4] + range(8, 256, 8) + range(256, max + 1, 16)
// in vllm/config/vllm.py); 0.10.1.1 captured every 8 up to 512 (67 sizes, in
// ../shared/vllm/samples' A100 log). Between the two the change is not dated
// more closely: 0.11 is taken.
const GraphSizes16StepSince = 0.11

// captureSizes counts vLLM V1's default capture sizes up to largest: 1, 2, 4,
// then every 8 up to 256 and every 16 above (every 8 throughout before 0.11).
func captureSizes(largest int, version float64) int {
	n := 0
	for _, s := range []int{1, 2, 4} {
		if s <= largest {
			n++
		}
	}
	for s := 8; s <= largest; s += 8 {
		if s <= 256 || s%16 == 0 || version < GraphSizes16StepSince {
			n++
		}
	}
	return n
}

// compilationConfig is what the plan reads of --compilation-config (-O).
type compilationConfig struct {
	Mode          any   `json:"mode"`  // torch.compile's mode (0 / "NONE": no compile)
	Level         any   `json:"level"` // its older name
	CUDAGraphMode any   `json:"cudagraph_mode"`
	Sizes         []int `json:"cudagraph_capture_sizes"`
	Largest       int   `json:"max_cudagraph_capture_size"`
}

// readCompilationConfig parses --compilation-config: written when the flag
// has a value, ok when that value is a JSON object (-O3's "3" is not).
func readCompilationConfig(a vllm.Args) (cc compilationConfig, written, ok bool) {
	v := flagValue(a, "compilation-config")
	if v == "" {
		return cc, false, false
	}
	return cc, true, json.Unmarshal([]byte(v), &cc) == nil
}

// graphShare is the part of the default capture an engine captures, as the
// number of capture sizes: each size is its own graph with its own memory
// (vLLM's per-size capture logs, PR #22897: 24–28 MiB each), so an engine of
// few sequences captures few graphs. The graph figure of Overheads (logged
// at 0.10.1.1's default 67 sizes) is taken as the default capture's of every
// release — 0.11's 51 sizes also capture FULL decode graphs beside the
// piecewise ones, so memory per default capture is not derived. It is 0 with
// --enforce-eager or cudagraph_mode NONE; sizes listed in
// --compilation-config count as listed; other flags that set sizes leave the
// default figure, said so.
func graphShare(a vllm.Args, seqs, batched int, version float64) (float64, string) {
	if a.EnforceEager {
		return 0, "--enforce-eager"
	}
	all := captureSizes(GraphSizesDefaultMax, version)
	if cc, written, ok := readCompilationConfig(a); written {
		if !ok {
			return 1, "the default capture's figure: --compilation-config sets no sizes the plan reads"
		}
		if m, ok := cc.CUDAGraphMode.(string); ok && strings.EqualFold(m, "NONE") {
			return 0, "cudagraph_mode NONE"
		}
		if len(cc.Sizes) > 0 {
			return min(1, float64(len(cc.Sizes))/float64(all)), fmt.Sprintf("%d capture sizes listed in --compilation-config, of the default %d", len(cc.Sizes), all)
		}
		if cc.Largest > 0 {
			n := captureSizes(cc.Largest, version)
			return min(1, float64(n)/float64(all)), fmt.Sprintf("%d of the default %d capture sizes (max_cudagraph_capture_size %d)", n, all, cc.Largest)
		}
	}
	switch {
	case a.IsSet("cuda-graph-sizes") || a.IsSet("max-cudagraph-capture-size") || a.IsSet("cudagraph-capture-sizes"):
		return 1, "the default capture's figure: the sizes are set by flags the plan does not read"
	case version < GraphSizesFollowSeqsSince:
		return 1, ""
	}
	largest := min(2*seqs, GraphSizesDefaultMax)
	if batched > 0 {
		largest = min(largest, batched)
	}
	n := captureSizes(largest, version)
	if n >= all {
		return 1, ""
	}
	return float64(n) / float64(all), fmt.Sprintf("%d of the default %d capture sizes (largest min(2 × max_num_seqs %s, 512, batched tokens) = %d)", n, all, vllm.Commas(seqs), largest)
}
