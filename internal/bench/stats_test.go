package bench

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	if p := percentile(xs, 50); p != 3 {
		t.Errorf("p50 = %v", p)
	}
	if p := percentile(xs, 90); math.Abs(p-4.6) > 1e-9 {
		t.Errorf("p90 = %v, want 4.6", p)
	}
	if !math.IsNaN(percentile(nil, 50)) {
		t.Error("p50 of nothing should be NaN")
	}
}

func TestMcNemarExact(t *testing.T) {
	// Known values of the exact two-sided test.
	for _, c := range []struct {
		a, b int
		p    float64
	}{{0, 0, 1}, {10, 0, 2 * math.Pow(0.5, 10)}, {5, 5, 1}, {8, 2, 0.109375}} {
		if got := mcnemar(c.a, c.b).P; math.Abs(got-c.p) > 1e-9 {
			t.Errorf("mcnemar(%d, %d) = %v, want %v", c.a, c.b, got, c.p)
		}
	}
}

func samples(n int, e2e, spread float64, out int, seed uint64) []Sample {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := make([]Sample, n)
	for i := range s {
		s[i] = Sample{E2E: e2e + spread*rng.NormFloat64(), TTFT: 0.02, ITL: 0.01, Out: out}
	}
	return s
}

func TestBootstrapInterval(t *testing.T) {
	tps := func(s []Sample) float64 { return rate(4, s, func(x Sample) float64 { return float64(x.Out) }) }
	a := samples(400, 1.0, 0.1, 100, 1)
	b := samples(400, 1.0/0.9, 0.1, 100, 2) // 10 % fewer tokens/s
	rng := rand.New(rand.NewPCG(1, 2))
	point, ci := bootstrapRel(a, b, tps, 1000, 0.95, rng)
	if math.Abs(point+0.10) > 0.02 || ci.Lo > point || ci.Hi < point || ci.Hi >= 0 {
		t.Errorf("change %.3f CI [%.3f, %.3f]: want about -0.10 with an interval below 0", point, ci.Lo, ci.Hi)
	}
	point, ci = bootstrapRel(a, samples(400, 1.0, 0.1, 100, 3), tps, 1000, 0.95, rng)
	if ci.Lo > 0 || ci.Hi < 0 {
		t.Errorf("same distribution: change %.3f CI [%.3f, %.3f], want an interval around 0", point, ci.Lo, ci.Hi)
	}
}

func TestStoreSaveListLoad(t *testing.T) {
	s := Store{Dir: t.TempDir() + "/bench"}
	now := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	for i, p := range []string{"mini", "medium"} {
		r := &Result{ID: NewID(now.Add(time.Duration(i)*time.Minute), p), Profile: p, Levels: []Level{{Concurrency: 1, Samples: []Sample{{E2E: 1}}}}}
		if _, err := s.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.List()
	if err != nil || len(list) != 2 || list[0].ID != "20261207T040000Z-mini" || list[1].Levels[0].Samples != nil {
		t.Fatalf("List = %+v, %v", list, err)
	}
	r, err := s.Load("20261207T0401")
	if err != nil || r.Profile != "medium" || len(r.Levels[0].Samples) != 1 {
		t.Fatalf("Load by prefix = %+v, %v", r, err)
	}
	if _, err := s.Load("20261207"); err == nil || !strings.Contains(err.Error(), "names 2 benchmarks") {
		t.Errorf("an ambiguous prefix: %v", err)
	}
	if _, err := s.Load("nope"); err == nil || !strings.Contains(err.Error(), "bench list") {
		t.Errorf("an unknown id: %v", err)
	}
}

func TestPlotIsDeterministicSVG(t *testing.T) {
	r := &Result{ID: "a<b", Levels: []Level{{Concurrency: 1, OutputTokS: 100, E2E: Dist{P50: 0.5, P99: 0.7}}, {Concurrency: 4, OutputTokS: 350, E2E: Dist{P50: 0.6, P99: 0.9}}}}
	a, b := Plot(r), Plot(r)
	if !bytes.Equal(a, b) {
		t.Fatal("two plots of one result differ")
	}
	s := string(a)
	for _, want := range []string{"<svg xmlns", "<polyline", ">4</text>", "a&lt;b", "output tokens/s", "</svg>"} {
		if !strings.Contains(s, want) {
			t.Errorf("plot lacks %q:\n%s", want, s)
		}
	}
}
