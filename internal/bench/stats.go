package bench

import (
	"math"
	"math/rand/v2"
	"slices"
)

// percentile returns the p-th percentile (0..100) of xs by linear
// interpolation between closest ranks; NaN for no values. xs is sorted in place.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	return sortedPercentile(xs, p)
}

func sortedPercentile(xs []float64, p float64) float64 {
	if len(xs) == 1 {
		return xs[0]
	}
	r := p / 100 * float64(len(xs)-1)
	lo := int(math.Floor(r))
	hi := min(lo+1, len(xs)-1)
	return xs[lo] + (xs[hi]-xs[lo])*(r-float64(lo))
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Interval is a confidence interval of a relative difference.
type Interval struct {
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
}

// bootstrapRel estimates the relative difference stat(b)/stat(a) - 1 and its
// percentile-bootstrap confidence interval. Samples are resampled in
// blocks: each side (in time order) is cut into up to 20 contiguous blocks,
// and a resample draws as many blocks with replacement, so that slow spells
// of the machine, which affect consecutive requests together, widen the
// interval as they should instead of being averaged away. rng makes it
// reproducible.
func bootstrapRel(a, b []Sample, stat func([]Sample) float64, resamples int, conf float64, rng *rand.Rand) (float64, Interval) {
	sa, sb := stat(a), stat(b)
	point := rel(sa, sb)
	if len(a) == 0 || len(b) == 0 || resamples <= 0 {
		return point, Interval{math.NaN(), math.NaN()}
	}
	ba, bb := blocks(a, 20), blocks(b, 20)
	ra, rb := make([]Sample, 0, 2*len(a)), make([]Sample, 0, 2*len(b))
	diffs := make([]float64, 0, resamples)
	for range resamples {
		ra, rb = ra[:0], rb[:0]
		for range ba {
			ra = append(ra, ba[rng.IntN(len(ba))]...)
		}
		for range bb {
			rb = append(rb, bb[rng.IntN(len(bb))]...)
		}
		if d := rel(stat(ra), stat(rb)); !math.IsNaN(d) && !math.IsInf(d, 0) {
			diffs = append(diffs, d)
		}
	}
	if len(diffs) == 0 {
		return point, Interval{math.NaN(), math.NaN()}
	}
	slices.Sort(diffs)
	alpha := (1 - conf) / 2 * 100
	return point, Interval{sortedPercentile(diffs, alpha), sortedPercentile(diffs, 100-alpha)}
}

// blocks cuts s into at most k contiguous blocks of near-equal size.
func blocks(s []Sample, k int) [][]Sample {
	k = min(k, len(s))
	out := make([][]Sample, k)
	for i := range k {
		out[i] = s[i*len(s)/k : (i+1)*len(s)/k]
	}
	return out
}

// rel is b/a - 1; 0 when both are 0; NaN when only a is 0.
func rel(a, b float64) float64 {
	if a == 0 {
		if b == 0 {
			return 0
		}
		return math.NaN()
	}
	return b/a - 1
}

// McNemar is the exact McNemar test of paired pass/fail outcomes: OnlyA are
// the pairs that passed on A only, OnlyB on B only; P is the two-sided
// p-value of the binomial test of the discordant pairs (1 when there are none).
type McNemar struct {
	OnlyA int     `json:"only_a"`
	OnlyB int     `json:"only_b"`
	P     float64 `json:"p_value"`
}

// mcnemar computes the exact two-sided McNemar test.
func mcnemar(onlyA, onlyB int) McNemar {
	n, k := onlyA+onlyB, min(onlyA, onlyB)
	if n == 0 {
		return McNemar{onlyA, onlyB, 1}
	}
	// P(X <= k) for X ~ Binomial(n, 1/2), doubled, capped at 1.
	cdf := 0.0
	for i := 0; i <= k; i++ {
		cdf += math.Exp(logChoose(n, i) - float64(n)*math.Ln2)
	}
	return McNemar{onlyA, onlyB, math.Min(1, 2*cdf)}
}

func logChoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}
