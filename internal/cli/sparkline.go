package cli

import (
	"math"
	"strings"
)

// sparkTicks are the eight heights of a text plot, lowest first.
var sparkTicks = []rune("▁▂▃▄▅▆▇█")

// sparkline draws vals as one character each, scaled between lo and hi (the
// values' own range when hi <= lo). NaN (no reading) is a space. A flat
// series is drawn at the lowest height.
func sparkline(vals []float64, lo, hi float64) string {
	if hi <= lo {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, v := range vals {
			if !math.IsNaN(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	var b strings.Builder
	for _, v := range vals {
		switch {
		case math.IsNaN(v):
			b.WriteRune(' ')
		case hi <= lo:
			b.WriteRune(sparkTicks[0])
		default:
			f := (min(max(v, lo), hi) - lo) / (hi - lo)
			b.WriteRune(sparkTicks[int(math.Round(f*float64(len(sparkTicks)-1)))])
		}
	}
	return b.String()
}

// trendLen is how many readings status --watch keeps per profile.
const trendLen = 40

// trend holds a profile's last readings for status --watch.
type trend struct {
	gen, kv, waiting []float64
}

func (t *trend) add(gen, kv, waiting *float64) {
	val := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	push := func(s []float64, v float64) []float64 {
		s = append(s, v)
		if len(s) > trendLen {
			s = s[len(s)-trendLen:]
		}
		return s
	}
	t.gen, t.kv, t.waiting = push(t.gen, val(gen)), push(t.kv, val(kv)), push(t.waiting, val(waiting))
}
