package plan

import (
	"fmt"

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

// graphShare is the part of the default capture an engine captures, as the
// number of capture sizes: each size is its own graph with its own memory
// (vLLM's per-size capture logs, PR #22897: 24–28 MiB each), so an engine of
// few sequences captures few graphs. It is 0 with --enforce-eager, and 1
// where the sizes are set by flags or the release captures a fixed set.
func graphShare(a vllm.Args, seqs, batched int, version float64) (float64, string) {
	switch {
	case a.EnforceEager:
		return 0, "--enforce-eager"
	case a.IsSet("cuda-graph-sizes") || a.IsSet("compilation-config") || a.IsSet("max-cudagraph-capture-size"):
		return 1, ""
	case version < GraphSizesFollowSeqsSince:
		return 1, ""
	}
	largest := min(2*seqs, GraphSizesDefaultMax)
	if batched > 0 {
		largest = min(largest, batched)
	}
	n, all := captureSizes(largest, version), captureSizes(GraphSizesDefaultMax, version)
	if n >= all {
		return 1, ""
	}
	return float64(n) / float64(all), fmt.Sprintf("%d of the default %d capture sizes (largest min(2 × max_num_seqs %s, 512, batched tokens) = %d)", n, all, vllm.Commas(seqs), largest)
}
