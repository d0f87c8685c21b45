package plan

import (
	"fmt"
	"math"
	"strings"

	"github.com/vllmctl/vllmctl/internal/vllm"
)

// Reported keys: what a deploy's monitor read from vLLM's startup log.
const (
	ReportedKVGiB       = "kv_gib"        // Available KV cache memory (min over ranks)
	ReportedKVTokens    = "kv_tokens"     // GPU KV cache size: N tokens
	ReportedConcurrency = "concurrency"   // Maximum concurrency for M tokens per request: Kx
	ReportedMaxLen      = "max_model_len" // the M of that line
)

// CompareReported renders what vLLM reported at startup next to the plan's
// prediction of the same figures, for `up`'s summary. The token count is
// compared with the plan's figure of the same formula: vLLM ≥ 0.20 prints
// int(concurrency × max_model_len) (PR #41069), earlier releases num_blocks ÷
// KV cache groups × block size; for hybrid and sliding-window models the two
// differ, and the reported line itself tells which one it is. When the plan
// has no figure it says why.
func CompareReported(pl *Result, rep map[string]float64) string {
	var b strings.Builder
	b.WriteString("vLLM reported ")
	b.WriteString(reportedFigures(rep))
	if pl == nil {
		b.WriteString("; no plan was made for this engine")
		return b.String()
	}
	if len(pl.Ranks) == 0 || pl.NoPrediction != "" {
		why := pl.NoPrediction
		if why == "" {
			why = "verdict " + string(pl.Verdict)
		}
		fmt.Fprintf(&b, "; no prediction (%s)", why)
		return b.String()
	}
	planTokens, formula := pl.KVTokens, ""
	if tok, ok := rep[ReportedKVTokens]; ok && pl.Layout != nil && pl.Layout.Hybrid && pl.TokensBlocks != pl.TokensConc {
		if reportedIsConcurrency(tok, rep) {
			planTokens, formula = pl.TokensConc, " (concurrency × max_model_len, as vLLM ≥ 0.20 prints it)"
		} else {
			planTokens, formula = pl.TokensBlocks, " (blocks ÷ groups × block size, as vLLM ≤ 0.19 prints it)"
		}
	}
	fmt.Fprintf(&b, "; plan predicted %.2f GiB%s, %s tokens%s%s, %.2fx%s",
		pl.KVAvailGiB, diff(rep, ReportedKVGiB, pl.KVAvailGiB),
		vllm.Commas(planTokens), formula, diff(rep, ReportedKVTokens, float64(planTokens)),
		pl.Concurrency, diff(rep, ReportedConcurrency, pl.Concurrency))
	if ml, ok := rep[ReportedMaxLen]; ok && int(ml) != pl.MaxModelLen {
		fmt.Fprintf(&b, " at %s tokens per request (vLLM's at %s)", vllm.Commas(pl.MaxModelLen), vllm.Commas(int(ml)))
	}
	return b.String()
}

// reportedFigures renders vLLM's own figures; a figure it did not print is "-".
func reportedFigures(rep map[string]float64) string {
	gibs, tokens, conc := "-", "-", "-"
	if v, ok := rep[ReportedKVGiB]; ok {
		gibs = fmt.Sprintf("%.2f", v)
	}
	if v, ok := rep[ReportedKVTokens]; ok {
		tokens = vllm.Commas(int(math.Round(v)))
	}
	if v, ok := rep[ReportedConcurrency]; ok {
		conc = fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%s GiB, %s tokens, %sx concurrency", gibs, tokens, conc)
}

// reportedIsConcurrency tells whether vLLM's token figure is
// int(concurrency × max_model_len): the concurrency is printed with two
// decimals, so the product is known to within 0.005 × max_model_len.
func reportedIsConcurrency(tokens float64, rep map[string]float64) bool {
	c, ok1 := rep[ReportedConcurrency]
	ml, ok2 := rep[ReportedMaxLen]
	if !ok1 || !ok2 || ml <= 0 {
		return false
	}
	return math.Abs(tokens-c*ml) <= 0.006*ml+1
}

// diff is " (+1.2%)", the plan's error relative to what vLLM reported.
func diff(rep map[string]float64, key string, planned float64) string {
	v, ok := rep[key]
	if !ok || v == 0 {
		return ""
	}
	return fmt.Sprintf(" (%+.1f%%)", 100*(planned-v)/v)
}
