package bench

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRunMeasuresTheSimulatorsLatencyModel(t *testing.T) {
	t.Parallel()
	tg, _ := simTarget(t, "--sim-ttft=30ms", "--sim-itl=5ms", "--sim-prefill-per-token=0")
	o := DefaultOptions()
	o.Concurrency = []int{1, 4}
	o.Duration = time.Second
	o.Output = Lengths{Kind: Fixed, Mean: 8} // the simulator's answers are 8 to 64 tokens: exactly 8
	var mu sync.Mutex
	var progress []Progress
	o.OnProgress = func(p Progress) { mu.Lock(); progress = append(progress, p); mu.Unlock() }
	levels, err := Run(context.Background(), tg, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(levels) != 2 || levels[0].Concurrency != 1 || levels[1].Concurrency != 4 {
		t.Fatalf("levels = %+v", levels)
	}
	for _, l := range levels {
		if l.Requests < 2 || l.Errors != 0 || len(l.Samples) != l.Requests {
			t.Fatalf("c=%d: %d requests, %d errors, %d samples", l.Concurrency, l.Requests, l.Errors, len(l.Samples))
		}
		for _, s := range l.Samples {
			if s.Out != 8 || s.In == 0 {
				t.Fatalf("c=%d: sample %+v: want 8 output tokens and the server's prompt count", l.Concurrency, s)
			}
		}
		// The model: TTFT = 30ms × (1 + running/256), ITL = 5ms × (1 + …): never
		// less; more only by scheduling delays on a loaded machine (up to 5×
		// under -race on 2 shared cores), far less than a unit mistake.
		if l.TTFT.P50 < 0.030 || l.TTFT.P50 > 0.150 {
			t.Errorf("c=%d: TTFT p50 = %.1f ms, want about 30", l.Concurrency, l.TTFT.P50*1000)
		}
		if l.ITL.P50 < 0.005 || l.ITL.P50 > 0.025 {
			t.Errorf("c=%d: ITL p50 = %.1f ms, want about 5", l.Concurrency, l.ITL.P50*1000)
		}
		if want := 0.030 + 7*0.005; l.E2E.P50 < want || l.E2E.P50 > 5*want {
			t.Errorf("c=%d: E2E p50 = %.1f ms, want about %.0f", l.Concurrency, l.E2E.P50*1000, want*1000)
		}
		if got, want := l.OutputTokS, 8*l.RequestsPerS; math.Abs(got-want) > 1e-6 {
			t.Errorf("c=%d: output tokens/s %.1f, want 8 × requests/s = %.1f", l.Concurrency, got, want)
		}
		if l.GoodputPerS != l.RequestsPerS {
			t.Errorf("c=%d: goodput %.1f/s, want every request within the default objective (%.1f/s)", l.Concurrency, l.GoodputPerS, l.RequestsPerS)
		}
	}
	// Closed loop: 4 workers get about 4 times the requests of 1.
	if r := levels[1].RequestsPerS / levels[0].RequestsPerS; r < 2 {
		t.Errorf("requests/s at 4 workers is %.1f× that at 1, want about 4×", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(progress) < 2 || !progress[len(progress)-1].Done || progress[len(progress)-1].Concurrency != 4 {
		t.Errorf("progress = %+v, want updates ending with the last level done", progress)
	}
}

func TestRunGoodputAndErrors(t *testing.T) {
	t.Parallel()
	// The engine dies after 5 completions: later requests get HTTP 500.
	tg, _ := simTarget(t, "--sim-ttft=1ms", "--sim-itl=1ms", "--sim-crash-after-requests=5", "--sim-death-exit=1h")
	o := DefaultOptions()
	o.Concurrency = []int{1}
	o.Duration = 2 * time.Second // time for 6 requests even on a starved machine
	o.Output = Lengths{Kind: Fixed, Mean: 8}
	o.Objective = Objective{TTFT: time.Nanosecond} // nothing meets it
	levels, err := Run(context.Background(), tg, o)
	if err != nil {
		t.Fatal(err)
	}
	l := levels[0]
	if l.Requests-l.Errors != 5 || l.Errors < 1 || l.ErrorKinds["HTTP 500"] != l.Errors {
		t.Fatalf("requests %d, errors %d %v: want 5 answers, then HTTP 500s", l.Requests, l.Errors, l.ErrorKinds)
	}
	if l.GoodputPerS != 0 || l.RequestsPerS <= 0 {
		t.Errorf("goodput %.1f/s, requests %.1f/s: want no request within a 1 ns TTFT", l.GoodputPerS, l.RequestsPerS)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	t.Parallel()
	tg, _ := simTarget(t, "--sim-ttft=1ms", "--sim-itl=1ms")
	ctx, cancel := context.WithCancel(context.Background())
	o := DefaultOptions()
	o.Concurrency = []int{2, 2}
	o.Duration = time.Hour
	o.OnProgress = func(p Progress) {
		if p.Requests > 0 {
			cancel()
		}
	}
	start := time.Now()
	levels, err := Run(ctx, tg, o)
	if err != context.Canceled || len(levels) != 0 {
		t.Fatalf("err %v, %d levels: want context.Canceled and none", err, len(levels))
	}
	if time.Since(start) > time.Minute {
		t.Fatal("the run did not stop promptly")
	}
}

func TestParseLengthsAndConcurrency(t *testing.T) {
	for in, want := range map[string]Lengths{"128": {Kind: Fixed, Mean: 128}, "128:32": {Kind: Normal, Mean: 128, Spread: 32}, "64-256": {Kind: Uniform, Min: 64, Max: 256}} {
		got, err := ParseLengths(in)
		if err != nil || got != want || got.String() != in {
			t.Errorf("ParseLengths(%q) = %+v, %v (%q)", in, got, err, got.String())
		}
	}
	for _, bad := range []string{"", "0", "x", "5-2", "-3", "1:x"} {
		if _, err := ParseLengths(bad); err == nil || !strings.Contains(err.Error(), "MEAN:SD") {
			t.Errorf("ParseLengths(%q): %v, want an error that shows the forms", bad, err)
		}
	}
	c, err := ParseConcurrency("1, 4,16")
	if err != nil || len(c) != 3 || c[2] != 16 {
		t.Errorf("ParseConcurrency = %v, %v", c, err)
	}
	if _, err := ParseConcurrency("1,0"); err == nil {
		t.Error("ParseConcurrency(1,0): want an error")
	}
}

func TestDatasetBodies(t *testing.T) {
	ds, err := ReadDataset("d.jsonl", strings.NewReader(`{"prompt": "hello", "max_tokens": 7}`+"\n\n"+`{"messages": [{"role": "user", "content": "hi"}]}`+"\n"))
	if err != nil || len(ds) != 2 {
		t.Fatalf("ReadDataset: %v, %v", ds, err)
	}
	o := DefaultOptions()
	o.Dataset = ds
	b := bodies(Target{Model: "m"}, o, 3)
	if !strings.Contains(string(b[0]), `"max_tokens":7`) || !strings.Contains(string(b[0]), `"content":"hello"`) ||
		!strings.Contains(string(b[1]), `"content":"hi"`) || !strings.Contains(string(b[1]), `"max_tokens":128`) || string(b[2]) != string(b[0]) {
		t.Errorf("bodies:\n%s", b)
	}
	if _, err := ReadDataset("d.jsonl", strings.NewReader(`{"max_tokens": 3}`)); err == nil || !strings.Contains(err.Error(), "d.jsonl:1") {
		t.Errorf("a line without prompt: %v", err)
	}
}

func TestStreamLineKinds(t *testing.T) {
	var st streamState
	for _, c := range []struct {
		line string
		want lineKind
	}{
		{`data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`, lineOther},
		{`data: {"choices":[{"index":0,"delta":{"content":"the "}}]}`, lineToken},
		{`data:{"choices":[{"delta":{"reasoning_content":"hm"}}]}`, lineToken},
		{`data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"f"}}]}}]}`, lineToken},
		{`data: {"choices":[{"delta":{"tool_calls":[]}}]}`, lineOther},
		{`data: {"choices":[{"text":"x","finish_reason":null}]}`, lineToken},
		{`data: {"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":9}}`, lineOther},
		{`data: {"error":{"message":"boom"}}`, lineError},
		{`: keep-alive`, lineOther},
		{`data: [DONE]`, lineDone},
	} {
		if got := st.line([]byte(c.line + "\n")); got != c.want {
			t.Errorf("%s: %v, want %v", c.line, got, c.want)
		}
	}
	if st.tokens != 4 || st.prompt != 12 || st.usageOut != 9 {
		t.Errorf("state %+v: want 4 token chunks and usage 12/9", st)
	}
}

// BenchmarkStreamLine: the cost of classifying one streamed chunk (a token).
func BenchmarkStreamLine(b *testing.B) {
	line := []byte(`data: {"id":"chatcmpl-0123456789abcdef","object":"chat.completion.chunk","created":1765080000,"model":"m","choices":[{"index":0,"delta":{"content":"word "},"logprobs":null,"finish_reason":null}]}` + "\n")
	var st streamState
	for b.Loop() {
		st.line(line)
	}
}
