package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// LengthKind is the shape of a token length distribution.
type LengthKind string

// Length distributions.
const (
	Fixed   LengthKind = "fixed"   // always Mean
	Normal  LengthKind = "normal"  // Mean ± Spread (standard deviation), at least 1
	Uniform LengthKind = "uniform" // Min to Max inclusive
)

// Lengths is a distribution of token counts: "128" (fixed), "128:32"
// (normal, mean 128, standard deviation 32) or "64-256" (uniform).
type Lengths struct {
	Kind     LengthKind
	Mean     int
	Spread   int
	Min, Max int
}

// ParseLengths reads "N", "N:SD" or "MIN-MAX".
func ParseLengths(s string) (Lengths, error) {
	bad := fmt.Errorf("%q: use N (fixed), MEAN:SD (normal) or MIN-MAX (uniform), e.g. 128, 128:32, 64-256", s)
	atoi := func(x string) (int, bool) {
		n, err := strconv.Atoi(strings.TrimSpace(x))
		return n, err == nil && n >= 0
	}
	if a, b, ok := strings.Cut(s, ":"); ok {
		m, ok1 := atoi(a)
		sd, ok2 := atoi(b)
		if !ok1 || !ok2 || m < 1 {
			return Lengths{}, bad
		}
		return Lengths{Kind: Normal, Mean: m, Spread: sd}, nil
	}
	if a, b, ok := strings.Cut(s, "-"); ok {
		lo, ok1 := atoi(a)
		hi, ok2 := atoi(b)
		if !ok1 || !ok2 || lo < 1 || hi < lo {
			return Lengths{}, bad
		}
		return Lengths{Kind: Uniform, Min: lo, Max: hi}, nil
	}
	n, ok := atoi(s)
	if !ok || n < 1 {
		return Lengths{}, bad
	}
	return Lengths{Kind: Fixed, Mean: n}, nil
}

func (l Lengths) String() string {
	switch l.Kind {
	case Normal:
		return fmt.Sprintf("%d:%d", l.Mean, l.Spread)
	case Uniform:
		return fmt.Sprintf("%d-%d", l.Min, l.Max)
	}
	return strconv.Itoa(l.Mean)
}

func (l Lengths) draw(rng *rand.Rand) int {
	switch l.Kind {
	case Normal:
		return max(1, int(math.Round(float64(l.Mean)+rng.NormFloat64()*float64(l.Spread))))
	case Uniform:
		return l.Min + rng.IntN(l.Max-l.Min+1)
	}
	return max(1, l.Mean)
}

// ParseConcurrency reads "1,4,16,64".
func ParseConcurrency(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--concurrency %q: a comma-separated list of positive worker counts, e.g. 1,4,16,64", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func sortSamples(s []Sample) {
	slices.SortStableFunc(s, func(a, b Sample) int {
		switch {
		case a.Start < b.Start:
			return -1
		case a.Start > b.Start:
			return 1
		}
		return 0
	})
}
