package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Verdict is the outcome of comparing B with A on one metric.
type Verdict string

// Verdicts.
const (
	Better        Verdict = "better"
	Worse         Verdict = "worse"
	NoDifference  Verdict = "no significant difference"
	NotComparable Verdict = "not comparable"
	// TooFewRequests: a percentile neither run measured with enough
	// requests to bound it (see minRequests); run longer with --duration.
	TooFewRequests Verdict = "too few requests"
)

// CompareOptions tune Compare. DefaultCompareOptions fills every field.
type CompareOptions struct {
	Confidence float64 // of the intervals. Default: 0.95
	Resamples  int     // bootstrap resamples. Default: 2000
	Seed       uint64  // of the resampling, so one comparison always gives one answer. Default: 1
	// MinEffect is the smallest relative difference that counts: a
	// difference whose interval excludes 0 but whose estimate is smaller
	// than this is "no significant difference" (run-to-run noise the
	// within-run resampling does not see); twice this for p99s.
	// Default: 0.03 (3 %).
	MinEffect float64
	Alpha     float64 // McNemar's significance level. Default: 1 - Confidence
}

// DefaultCompareOptions returns the defaults of vllmctl bench compare.
func DefaultCompareOptions() CompareOptions {
	return CompareOptions{Confidence: 0.95, Resamples: 2000, Seed: 1, MinEffect: 0.03}
}

// Comparison is B against A.
type Comparison struct {
	A       string           `json:"a"`
	B       string           `json:"b"`
	Options CompareOptions   `json:"options"`
	Metrics []MetricDiff     `json:"metrics"`
	Probes  *ProbeComparison `json:"probes,omitempty"`
	Notes   []string         `json:"notes,omitempty"` // levels only one side measured, ...
}

// MetricDiff is one metric at one concurrency.
type MetricDiff struct {
	Concurrency  int      `json:"concurrency"`
	Metric       string   `json:"metric"`
	Unit         string   `json:"unit"`
	HigherBetter bool     `json:"higher_is_better"`
	A            float64  `json:"a"`
	B            float64  `json:"b"`
	Change       float64  `json:"change"` // B/A - 1
	CI           Interval `json:"ci"`     // of Change
	Verdict      Verdict  `json:"verdict"`
}

// ProbeComparison is the quality probe set of both runs, paired by probe id.
type ProbeComparison struct {
	A       float64 `json:"pass_rate_a"`
	B       float64 `json:"pass_rate_b"`
	Paired  int     `json:"paired"`
	McNemar McNemar `json:"mcnemar"`
	Verdict Verdict `json:"verdict"`
	// Regressions are the probes that passed on A and failed on B, with B's reason.
	Regressions []ProbeOutcome `json:"regressions,omitempty"`
}

// metric is a statistic of a level's samples.
type metric struct {
	name, unit string
	higher     bool
	tail       bool    // a p99: judged with twice the margin
	quantile   float64 // of a percentile metric (50, 99); 0 for the others
	stat       func(c int, s []Sample, o Objective) float64
}

// The metrics compared, in order. Throughputs are estimated from the
// samples as concurrency × (count or tokens) / Σ latency, which in a closed
// loop equals the measured rate and can be resampled.
var metrics = []metric{
	{"output tokens/s", "tok/s", true, false, 0, func(c int, s []Sample, _ Objective) float64 {
		return rate(c, s, func(x Sample) float64 { return float64(x.Out) })
	}},
	{"requests/s", "req/s", true, false, 0, func(c int, s []Sample, _ Objective) float64 { return rate(c, s, func(Sample) float64 { return 1 }) }},
	{"goodput", "req/s", true, false, 0, func(c int, s []Sample, o Objective) float64 {
		return rate(c, s, func(x Sample) float64 { return b2f(o.Meets(x)) })
	}},
	{"TTFT p50", "ms", false, false, 50, pct(func(x Sample) float64 { return x.TTFT * 1000 }, 50)},
	{"TTFT p99", "ms", false, true, 99, pct(func(x Sample) float64 { return x.TTFT * 1000 }, 99)},
	{"ITL p50", "ms", false, false, 50, pct(func(x Sample) float64 { return x.ITL * 1000 }, 50)},
	{"E2E p50", "ms", false, false, 50, pct(func(x Sample) float64 { return x.E2E * 1000 }, 50)},
	{"E2E p99", "ms", false, true, 99, pct(func(x Sample) float64 { return x.E2E * 1000 }, 99)},
	{"error rate", "%", false, false, 0, func(_ int, s []Sample, _ Objective) float64 {
		n := 0.0
		for _, x := range s {
			n += b2f(x.Err != "")
		}
		return 100 * n / float64(max(1, len(s)))
	}},
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// rate is c × Σ f(successful sample) / Σ latency of all samples.
func rate(c int, s []Sample, f func(Sample) float64) float64 {
	num, den := 0.0, 0.0
	for _, x := range s {
		den += x.E2E
		if x.Err == "" {
			num += f(x)
		}
	}
	if den == 0 {
		return 0
	}
	return float64(c) * num / den
}

// pct is a percentile of successful samples.
func pct(f func(Sample) float64, p float64) func(int, []Sample, Objective) float64 {
	return func(_ int, s []Sample, _ Objective) float64 {
		xs := make([]float64, 0, len(s))
		for _, x := range s {
			if x.Err == "" {
				xs = append(xs, f(x))
			}
		}
		return percentile(xs, p)
	}
}

// Compare judges B against A at each concurrency both measured, and their
// probe sets. Each metric gets B's relative change, its bootstrap interval,
// and a verdict: better or worse when the interval excludes 0 and the change
// is at least MinEffect, else no significant difference. Probes are paired
// by id and judged with McNemar's exact test.
func Compare(a, b *Result, o CompareOptions) Comparison {
	d := DefaultCompareOptions()
	if o.Confidence <= 0 || o.Confidence >= 1 {
		o.Confidence = d.Confidence
	}
	if o.Resamples <= 0 {
		o.Resamples = d.Resamples
	}
	if o.Alpha <= 0 {
		o.Alpha = 1 - o.Confidence
	}
	cmp := Comparison{A: a.ID, B: b.ID, Options: o}
	obj := a.Config.Objective
	if a.Config.Objective != b.Config.Objective {
		cmp.Notes = append(cmp.Notes, "the two runs have different objectives: goodput is judged by A's")
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5851f42d4c957f2d))
	for _, la := range a.Levels {
		var lb *Level
		for i := range b.Levels {
			if b.Levels[i].Concurrency == la.Concurrency {
				lb = &b.Levels[i]
			}
		}
		if lb == nil {
			cmp.Notes = append(cmp.Notes, fmt.Sprintf("concurrency %d: only in %s", la.Concurrency, a.ID))
			continue
		}
		var short []string // percentiles of too few requests at this level
		shortNeed, shortHave := 0, 0
		for _, m := range metrics {
			c := la.Concurrency
			stat := func(s []Sample) float64 { return m.stat(c, s, obj) }
			md := MetricDiff{Concurrency: c, Metric: m.name, Unit: m.unit, HigherBetter: m.higher, A: stat(la.Samples), B: stat(lb.Samples)}
			md.Change, md.CI = bootstrapRel(la.Samples, lb.Samples, stat, o.Resamples, o.Confidence, rng)
			margin := o.MinEffect
			if m.tail {
				margin *= 2 // tails move more between runs than one run's resampling shows
			}
			md.Verdict = judge(md, margin)
			if m.quantile > 0 && md.Verdict != NotComparable {
				need := minRequests(m.quantile, o.Confidence)
				if na, nb := succeeded(la.Samples), succeeded(lb.Samples); na < need || nb < need {
					md.Verdict = TooFewRequests
					short = append(short, m.name)
					shortNeed, shortHave = max(shortNeed, need), min(na, nb)
				}
			}
			cmp.Metrics = append(cmp.Metrics, md)
		}
		if len(short) > 0 {
			cmp.Notes = append(cmp.Notes, fmt.Sprintf("concurrency %d: %s not judged: %d successful requests, a bound at %.0f %% needs %d per run (run longer with --duration)",
				la.Concurrency, strings.Join(short, ", "), shortHave, 100*o.Confidence, shortNeed))
		}
	}
	for _, lb := range b.Levels {
		found := false
		for _, la := range a.Levels {
			found = found || la.Concurrency == lb.Concurrency
		}
		if !found {
			cmp.Notes = append(cmp.Notes, fmt.Sprintf("concurrency %d: only in %s", lb.Concurrency, b.ID))
		}
	}
	if a.Probes != nil && b.Probes != nil {
		cmp.Probes = compareProbes(a.Probes, b.Probes, o.Alpha)
	} else if a.Probes != nil || b.Probes != nil {
		cmp.Notes = append(cmp.Notes, "only one run has probe results: run both with --probe to compare quality")
	}
	return cmp
}

// minRequests is the fewest requests whose order statistics bound the q-th
// percentile on both sides at confidence conf without assuming a
// distribution: with n requests, all of them fall below the percentile with
// probability (q/100)^n, so an upper bound needs (q/100)^n ≤ (1-conf)/2 (and
// the lower bound likewise with 1-q/100). Fewer, and the percentile's interval
// is open: a p99 of 100 requests is their largest, and a difference between
// two of them is one slow request, not a change (368 for a p99 at 95 %, 6 for
// a p50).
func minRequests(q, conf float64) int {
	p := max(q, 100-q) / 100
	return int(math.Ceil(math.Log((1-conf)/2) / math.Log(p)))
}

func succeeded(s []Sample) int {
	n := 0
	for _, x := range s {
		if x.Err == "" {
			n++
		}
	}
	return n
}

func judge(md MetricDiff, minEffect float64) Verdict {
	if math.IsNaN(md.Change) || math.IsNaN(md.CI.Lo) {
		if md.A == md.B && !math.IsNaN(md.A) { // e.g. no errors on either side
			return NoDifference
		}
		return NotComparable
	}
	if md.CI.Lo <= 0 && md.CI.Hi >= 0 || math.Abs(md.Change) < minEffect {
		return NoDifference
	}
	if (md.Change > 0) == md.HigherBetter {
		return Better
	}
	return Worse
}

func compareProbes(a, b *Probes, alpha float64) *ProbeComparison {
	pc := &ProbeComparison{A: a.PassRate, B: b.PassRate}
	byID := map[string]ProbeOutcome{}
	for _, x := range a.Outcomes {
		byID[x.ID] = x
	}
	onlyA, onlyB := 0, 0
	for _, y := range b.Outcomes {
		x, ok := byID[y.ID]
		if !ok {
			continue
		}
		pc.Paired++
		switch {
		case x.Pass && !y.Pass:
			onlyA++
			pc.Regressions = append(pc.Regressions, y)
		case !x.Pass && y.Pass:
			onlyB++
		}
	}
	pc.McNemar = mcnemar(onlyA, onlyB)
	switch {
	case pc.Paired == 0:
		pc.Verdict = NotComparable
	case pc.McNemar.P >= alpha:
		pc.Verdict = NoDifference
	case onlyB > onlyA:
		pc.Verdict = Better
	default:
		pc.Verdict = Worse
	}
	return pc
}
