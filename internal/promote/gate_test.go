package promote

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/bench"
)

func result(id string, n int, e2e float64, seed uint64) *bench.Result {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := make([]bench.Sample, n)
	for i := range s {
		d := e2e * (1 + 0.05*rng.NormFloat64())
		s[i] = bench.Sample{E2E: d, TTFT: d / 4, ITL: d / 100, Out: 64}
	}
	return &bench.Result{ID: id, Levels: []bench.Level{{Concurrency: 4, Requests: n, Samples: s}}}
}

// The default gate's TTFT p99 over too few requests fails nothing and is
// named as not judged; with enough requests it is judged, and a slower
// candidate fails the gate on it.
func TestJudgeNamesUnjudgedPercentiles(t *testing.T) {
	out, unjudged := judge(result("a", 100, 1, 1), result("b", 100, 1, 2), DefaultGate())
	if len(out) != 0 || !slices.Equal(unjudged, []string{"TTFT p99 at concurrency 4"}) {
		t.Errorf("100 requests: fails %q, not judged %q; want no failure and TTFT p99 not judged", out, unjudged)
	}
	out, unjudged = judge(result("a", 500, 1, 1), result("b", 500, 1.3, 2), DefaultGate())
	if len(unjudged) != 0 {
		t.Errorf("500 requests: not judged %q, want every gated metric judged", unjudged)
	}
	want := []string{"output tokens/s at concurrency 4 worse", "TTFT p99 at concurrency 4 worse", "E2E p50 at concurrency 4 worse"}
	for _, w := range want {
		if !slices.ContainsFunc(out, func(s string) bool { return strings.HasPrefix(s, w) }) {
			t.Errorf("30 %% slower candidate: fails %q, want %q", out, w)
		}
	}
	if len(out) != len(want) {
		t.Errorf("fails %s, want %d reasons", fmt.Sprint(out), len(want))
	}
}
