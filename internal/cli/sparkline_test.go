package cli

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/state"
)

func TestSparkline(t *testing.T) {
	for _, c := range []struct {
		vals   []float64
		lo, hi float64
		want   string
	}{
		{[]float64{0, 1, 2, 3, 4, 5, 6, 7}, 0, 0, "▁▂▃▄▅▆▇█"},
		{[]float64{0.5, 0.25, 1}, 0, 1, "▅▃█"},
		{[]float64{3, 3, 3}, 0, 0, "▁▁▁"},
		{[]float64{1, math.NaN(), 2}, 0, 0, "▁ █"},
		{[]float64{2}, 0, 1, "█"}, // above hi: clamped
		{nil, 0, 0, ""},
	} {
		if got := sparkline(c.vals, c.lo, c.hi); got != c.want {
			t.Errorf("sparkline(%v, %g, %g) = %q, want %q", c.vals, c.lo, c.hi, got, c.want)
		}
	}
}

func TestTrendsAndReadyTrends(t *testing.T) {
	var out bytes.Buffer
	e := &env{stdout: &out}
	trends := map[string]*trend{}
	f := func(v float64) *float64 { return &v }
	for i := range 3 {
		sts := []deploy.ProfileStatus{{Profile: "medium", State: "running", GenPerSec: f(float64(100 * (i + 1))), KVUsage: f(0.5), Waiting: f(float64(i))},
			{Profile: "large", State: "not deployed"}}
		out.Reset()
		printTrends(e, sts, trends)
	}
	if got := out.String(); !strings.Contains(got, "medium  tok/s ▁▅█ 300.0  KV ▅▅▅ 50%  waiting ▁▅█ 2") || strings.Contains(got, "large") {
		t.Errorf("status --watch trends:\n%s", got)
	}
	now := time.Now()
	h := []state.Record{ // newest first, as History returns it
		{Profile: "medium", ReadySecs: 40, Time: now},
		{Profile: "mini", ReadySecs: 12, Time: now.Add(-time.Minute)},
		{Profile: "medium", ReadySecs: 0, Time: now.Add(-2 * time.Minute)}, // failed: not drawn
		{Profile: "medium", ReadySecs: 95, Time: now.Add(-3 * time.Minute)},
	}
	out.Reset()
	printReadyTrends(e, h)
	if got := out.String(); !strings.Contains(got, "medium  █▁  95.0s → 40.0s") || strings.Contains(got, "mini") {
		t.Errorf("history trends:\n%s", got)
	}
}
