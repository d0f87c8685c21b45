package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// measure runs the default duration at one concurrency against each target
// at the same time (so both see the same machine), 8 output tokens per request.
func measure(t *testing.T, targets ...Target) []*Result {
	t.Helper()
	out := make([]*Result, len(targets))
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, tg := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := DefaultOptions() // the default duration
			o.Concurrency = []int{16}
			o.Output = Lengths{Kind: Fixed, Mean: 8}
			levels, err := Run(context.Background(), tg, o)
			out[i], errs[i] = &Result{ID: fmt.Sprintf("run-%d", i), Levels: levels, Config: Config{Objective: o.Objective}}, err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func find(t *testing.T, c Comparison, metric string) MetricDiff {
	t.Helper()
	for _, m := range c.Metrics {
		if m.Metric == metric {
			return m
		}
	}
	t.Fatalf("no %s in %+v", metric, c.Metrics)
	return MetricDiff{}
}

func table(c Comparison) string {
	var b strings.Builder
	for _, m := range c.Metrics {
		fmt.Fprintf(&b, "c=%d %-16s A %9.2f B %9.2f change %+6.1f%% CI [%+6.1f%%, %+6.1f%%] %s\n", m.Concurrency, m.Metric, m.A, m.B, 100*m.Change, 100*m.CI.Lo, 100*m.CI.Hi, m.Verdict)
	}
	return b.String()
}

// A latency model 11 % slower per token gives 10 % fewer tokens/s: compare
// finds it at 95 % confidence with the default duration.
func TestCompareDetectsATenPercentThroughputLoss(t *testing.T) {
	t.Parallel()
	a, _ := simTarget(t, "--sim-ttft=200ms", "--sim-itl=80ms", "--sim-prefill-per-token=0")
	b, _ := simTarget(t, "--sim-ttft=222ms", "--sim-itl=88.8ms", "--sim-prefill-per-token=0")
	r := measure(t, a, b)
	c := Compare(r[0], r[1], DefaultCompareOptions())
	t.Logf("\n%s", table(c))
	tps := find(t, c, "output tokens/s")
	if tps.Verdict != Worse || tps.CI.Hi >= 0 || tps.Change > -0.05 || tps.Change < -0.15 {
		t.Errorf("output tokens/s: change %+.1f%% CI [%+.1f%%, %+.1f%%] %s: want worse, about -10 %%", 100*tps.Change, 100*tps.CI.Lo, 100*tps.CI.Hi, tps.Verdict)
	}
	if e2e := find(t, c, "E2E p50"); e2e.Verdict != Worse {
		t.Errorf("E2E p50: %s, want worse", e2e.Verdict)
	}
	// And the other way round: better.
	if back := find(t, Compare(r[1], r[0], DefaultCompareOptions()), "output tokens/s"); back.Verdict != Better {
		t.Errorf("B against A: %s, want better", back.Verdict)
	}
}

// Two runs of one configuration: no metric differs significantly.
func TestCompareTwoRunsOfOneProfileNoDifference(t *testing.T) {
	t.Parallel()
	a, _ := simTarget(t, "--sim-ttft=200ms", "--sim-itl=80ms", "--sim-prefill-per-token=0")
	b, _ := simTarget(t, "--sim-ttft=200ms", "--sim-itl=80ms", "--sim-prefill-per-token=0")
	r := measure(t, a, b)
	c := Compare(r[0], r[1], DefaultCompareOptions())
	t.Logf("\n%s", table(c))
	if len(c.Metrics) != len(metrics) {
		t.Fatalf("%d metrics, want %d", len(c.Metrics), len(metrics))
	}
	// A p99 of the default 5 s at c=16 (about 100 requests) is one slow
	// request: it gets no verdict, and the note says how many it needs.
	n := min(succeeded(r[0].Levels[0].Samples), succeeded(r[1].Levels[0].Samples))
	need99 := minRequests(99, 0.95)
	for _, m := range c.Metrics {
		want := NoDifference
		if strings.HasSuffix(m.Metric, "p99") && n < need99 {
			want = TooFewRequests
		}
		if m.Verdict != want {
			t.Errorf("%s: %s (change %+.1f%% CI [%+.1f%%, %+.1f%%]), want %s (%d requests)", m.Metric, m.Verdict, 100*m.Change, 100*m.CI.Lo, 100*m.CI.Hi, want, n)
		}
	}
	if n < need99 && !slices.ContainsFunc(c.Notes, func(s string) bool {
		return strings.Contains(s, "TTFT p99, E2E p99 not judged") && strings.Contains(s, fmt.Sprintf("needs %d per run", need99))
	}) {
		t.Errorf("notes %q: want the p99s not judged, with the %d requests a p99 needs", c.Notes, need99)
	}
}

// The fewest requests that bound a percentile without assuming a
// distribution; below it a p99 gets no verdict, at it the bootstrap judges.
func TestMinRequestsForAPercentile(t *testing.T) {
	for _, c := range []struct {
		q, conf float64
		want    int
	}{{99, 0.95, 368}, {50, 0.95, 6}, {95, 0.95, 72}, {99, 0.9, 299}} {
		if got := minRequests(c.q, c.conf); got != c.want {
			t.Errorf("minRequests(%v, %v) = %d, want %d", c.q, c.conf, got, c.want)
		}
	}
	slow := func(n int, seed uint64) *Result {
		s := samples(n, 1.0, 0.05, 100, seed)
		for i := range s {
			s[i].TTFT = s[i].E2E / 4
		}
		return &Result{ID: fmt.Sprint(seed), Levels: []Level{{Concurrency: 4, Samples: s}}}
	}
	few := Compare(slow(100, 1), slow(100, 2), DefaultCompareOptions())
	if v := find(t, few, "TTFT p99").Verdict; v != TooFewRequests {
		t.Errorf("100 requests: TTFT p99 %s, want %s", v, TooFewRequests)
	}
	if v := find(t, few, "TTFT p50").Verdict; v != NoDifference {
		t.Errorf("100 requests: TTFT p50 %s, want %s", v, NoDifference)
	}
	enough := Compare(slow(400, 1), slow(400, 2), DefaultCompareOptions())
	if v := find(t, enough, "TTFT p99").Verdict; v != NoDifference {
		t.Errorf("400 requests: TTFT p99 %s, want %s", v, NoDifference)
	}
	if len(enough.Notes) != 0 {
		t.Errorf("400 requests: notes %q, want none", enough.Notes)
	}
}

func TestCompareIsReproducible(t *testing.T) {
	a := &Result{ID: "a", Levels: []Level{{Concurrency: 4, Samples: samples(200, 1, 0.2, 100, 1)}}}
	b := &Result{ID: "b", Levels: []Level{{Concurrency: 4, Samples: samples(200, 1.02, 0.2, 100, 2)}, {Concurrency: 8}}}
	x, y := Compare(a, b, DefaultCompareOptions()), Compare(a, b, DefaultCompareOptions())
	jx, _ := json.Marshal(x)
	jy, _ := json.Marshal(y)
	if string(jx) != string(jy) {
		t.Error("two comparisons of the same runs differ")
	}
	if len(x.Notes) != 2 || !strings.Contains(x.Notes[0], "concurrency 4: TTFT p99, E2E p99 not judged: 200 successful requests") || !strings.Contains(x.Notes[1], "concurrency 8: only in b") {
		t.Errorf("notes = %v", x.Notes)
	}
}

const probeSet = `{"id": "p1", "prompt": "one", "expect_regex": "[a-z]+"}
{"id": "p2", "prompt": "two", "expect_regex": "[a-z]+"}
{"id": "p3", "prompt": "three", "expect_regex": "[a-z]+"}
{"id": "p4", "prompt": "four", "expect_regex": "[a-z]+"}
{"id": "p5", "prompt": "five", "expect_regex": "[a-z]+"}
{"id": "p6", "prompt": "six", "expect_regex": "[a-z]+"}
{"id": "p7", "prompt": "seven", "expect_regex": "[a-z]+"}
{"id": "p8", "prompt": "eight", "expect_regex": "[a-z]+"}
{"id": "p9", "prompt": "nine", "expect_regex": "[a-z]+"}
{"id": "p10", "prompt": "ten", "expect_regex": "[a-z]+"}
`

// Probes that fail by fault injection (the engine dies after 3 answers) are
// a significant quality regression by McNemar's test; the same set against
// a healthy engine twice is not.
func TestCompareProbesMcNemar(t *testing.T) {
	t.Parallel()
	probes, err := ReadProbes("probes.jsonl", strings.NewReader(probeSet))
	if err != nil {
		t.Fatal(err)
	}
	healthy, _ := simTarget(t, "--sim-ttft=0", "--sim-itl=0")
	faulty, _ := simTarget(t, "--sim-ttft=0", "--sim-itl=0", "--sim-crash-after-requests=3", "--sim-death-exit=1h")
	a := &Result{ID: "a", Probes: RunProbes(context.Background(), healthy, "probes.jsonl", probes)}
	a2 := &Result{ID: "a2", Probes: RunProbes(context.Background(), healthy, "probes.jsonl", probes)}
	b := &Result{ID: "b", Probes: RunProbes(context.Background(), faulty, "probes.jsonl", probes)}
	if a.Probes.Passed != 10 || b.Probes.Passed != 3 {
		t.Fatalf("passed: healthy %d, faulty %d (%+v): want 10 and 3", a.Probes.Passed, b.Probes.Passed, b.Probes.Outcomes)
	}
	if o := b.Probes.Outcomes[3]; o.Pass || o.Reason != "HTTP 500" {
		t.Errorf("probe 4 on the dead engine: %+v", o)
	}
	c := Compare(a, b, DefaultCompareOptions())
	if c.Probes == nil || c.Probes.Verdict != Worse || c.Probes.McNemar.OnlyA != 7 || c.Probes.McNemar.P >= 0.05 || len(c.Probes.Regressions) != 7 {
		t.Errorf("healthy against faulty: %+v, want worse (7 regressions, p < 0.05)", c.Probes)
	}
	if c := Compare(a, a2, DefaultCompareOptions()); c.Probes.Verdict != NoDifference || c.Probes.McNemar.P != 1 {
		t.Errorf("healthy twice: %+v, want no significant difference", c.Probes)
	}
}

func TestProbeExpectations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Tools []json.RawMessage `json:"tools"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		if len(req.Tools) > 0 {
			fmt.Fprint(w, `{"choices":[{"message":{"content":null,"tool_calls":[{"function":{"name":"get_weather","arguments":"{}"}}]}}]}`)
			return
		}
		fmt.Fprint(w, `{"choices":[{"message":{"content":"The capital of France is Paris."}}]}`)
	}))
	defer srv.Close()
	probes, err := ReadProbes("p.jsonl", strings.NewReader(`{"prompt": "capital?", "expect": "paris"}
{"prompt": "capital?", "expect": "lyon"}
{"prompt": "capital?", "expect_regex": "^The .* Paris\\.$"}
{"messages": [{"role": "user", "content": "weather?"}], "tools": [{"type": "function", "function": {"name": "get_weather"}}], "expect_tool": "get_weather"}
{"messages": [{"role": "user", "content": "weather?"}], "tools": [{"type": "function", "function": {"name": "get_weather"}}], "expect_tool": "get_time"}
{"prompt": "weather?", "expect_tool": "get_weather"}
`))
	if err != nil {
		t.Fatal(err)
	}
	res := RunProbes(context.Background(), Target{BaseURL: srv.URL, Model: "m"}, "p.jsonl", probes)
	want := []string{"", `answer does not contain "lyon"`, "", "", "called get_weather, not get_time", "no tool call (expected get_weather)"}
	for i, o := range res.Outcomes {
		if o.Reason != want[i] || o.Pass != (want[i] == "") || o.ID != fmt.Sprintf("line %d", i+1) {
			t.Errorf("probe %d: %+v, want reason %q", i+1, o, want[i])
		}
	}
	if res.Passed != 3 || res.PassRate != 0.5 {
		t.Errorf("passed %d (%.2f), want 3 (0.50)", res.Passed, res.PassRate)
	}
	for _, bad := range []string{`{"prompt": "x"}`, `{"expect": "x"}`, `{"prompt": "x", "expect": "y", "bogus": 1}`, `{"id": "a", "prompt": "x", "expect": "y"}` + "\n" + `{"id": "a", "prompt": "x", "expect": "y"}`} {
		if _, err := ReadProbes("p.jsonl", strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "p.jsonl:") {
			t.Errorf("ReadProbes(%s): %v, want an error with the line", bad, err)
		}
	}
}
