package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Target is the OpenAI-compatible endpoint to load.
type Target struct {
	BaseURL string // http://127.0.0.1:5001, no trailing /v1
	APIKey  string // sent as a bearer token; never stored
	Model   string // the served name
	// Client sends the requests. Default: one sized for the largest level.
	Client *http.Client
}

// Options describe the load. DefaultOptions fills every field.
type Options struct {
	Concurrency []int         // closed-loop levels, in order. Default: 1, 4, 16, 64
	Duration    time.Duration // per level. Default: 5s
	Prompt      Lengths       // prompt tokens per request. Default: 128±32 (normal)
	Output      Lengths       // max_tokens per request. Default: 128
	IgnoreEOS   bool          // ask for exactly max_tokens (vLLM's ignore_eos). Default: true
	Dataset     []Prompt      // used instead of Prompt/Output when set
	Objective   Objective     // goodput bounds. Default: TTFT ≤ 1s and mean ITL ≤ 100ms
	Seed        uint64        // prompt generator. Default: 1
	// Timeout bounds one request. Default: 5m.
	Timeout time.Duration
	// OnProgress is called about twice a second while a level runs, and once at its end.
	OnProgress func(Progress)
}

// DefaultOptions returns the defaults of vllmctl bench.
func DefaultOptions() Options {
	return Options{Concurrency: []int{1, 4, 16, 64}, Duration: 5 * time.Second,
		Prompt: Lengths{Mean: 128, Spread: 32, Kind: Normal}, Output: Lengths{Mean: 128, Kind: Fixed}, IgnoreEOS: true,
		Objective: Objective{TTFT: time.Second, ITL: 100 * time.Millisecond}, Seed: 1, Timeout: 5 * time.Minute}
}

// Progress is the state of a running level.
type Progress struct {
	Level       int // index in Concurrency
	Concurrency int
	Elapsed     time.Duration
	Duration    time.Duration
	Requests    int64
	Errors      int64
	Done        bool
}

// Prompt is one request of a dataset: a prompt or chat messages, and its max_tokens.
type Prompt struct {
	Prompt    string            `json:"prompt,omitempty"`
	Messages  []json.RawMessage `json:"messages,omitempty"`
	MaxTokens int               `json:"max_tokens,omitempty"`
}

// ReadDataset reads JSON lines of {"prompt": "...", "max_tokens": N} or
// {"messages": [...], "max_tokens": N}; blank lines are skipped. name is
// used in errors.
func ReadDataset(name string, r io.Reader) ([]Prompt, error) {
	var out []Prompt
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var p Prompt
		if err := json.Unmarshal(line, &p); err != nil {
			return nil, fmt.Errorf("%s:%d: %v (each line is {\"prompt\": \"...\"} or {\"messages\": [...]}, with an optional \"max_tokens\")", name, n, err)
		}
		if p.Prompt == "" && len(p.Messages) == 0 {
			return nil, fmt.Errorf("%s:%d: no \"prompt\" nor \"messages\"", name, n)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no prompts", name)
	}
	return out, nil
}

// bodies pre-builds the request bodies of a run, so that building them costs
// nothing while the clock runs.
func bodies(t Target, o Options, n int) [][]byte {
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	out := make([][]byte, n)
	for i := range out {
		req := map[string]any{"model": t.Model, "stream": true, "stream_options": map[string]any{"include_usage": true}, "temperature": 0}
		maxTok := o.Output.draw(rng)
		if len(o.Dataset) > 0 {
			p := o.Dataset[i%len(o.Dataset)]
			if p.MaxTokens > 0 {
				maxTok = p.MaxTokens
			}
			if len(p.Messages) > 0 {
				req["messages"] = p.Messages
			} else {
				req["messages"] = []map[string]string{{"role": "user", "content": p.Prompt}}
			}
		} else {
			req["messages"] = []map[string]string{{"role": "user", "content": promptText(rng, o.Prompt.draw(rng))}}
		}
		req["max_tokens"] = maxTok
		if o.IgnoreEOS {
			req["ignore_eos"] = true
		}
		out[i], _ = json.Marshal(req)
	}
	return out
}

var vocabulary = strings.Fields("time person year way day thing man world life hand part child eye woman place work week case point government company number group problem fact river mountain light music paper water market story")

// promptText is about n tokens of words (one common word is about one token).
func promptText(rng *rand.Rand, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(vocabulary[rng.IntN(len(vocabulary))])
	}
	return b.String()
}

// Run loads the target at each concurrency level in turn and returns one
// Level per level. Each level runs Duration: workers start requests back to
// back until then, and the requests in flight are awaited. A canceled ctx
// stops the run and returns the levels measured so far with ctx's error.
func Run(ctx context.Context, t Target, o Options) ([]Level, error) {
	d := DefaultOptions()
	if len(o.Concurrency) == 0 {
		o.Concurrency = d.Concurrency
	}
	if o.Duration <= 0 {
		o.Duration = d.Duration
	}
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	peak := 0
	for _, c := range o.Concurrency {
		if c <= 0 {
			return nil, fmt.Errorf("concurrency %d: each level needs at least one worker", c)
		}
		peak = max(peak, c)
	}
	client := t.Client
	if client == nil {
		client = NewClient(peak)
	}
	body := bodies(t, o, 4096)
	url := strings.TrimRight(t.BaseURL, "/") + "/v1/chat/completions"
	var levels []Level
	for i, c := range o.Concurrency {
		l, err := runLevel(ctx, client, url, t.APIKey, body, i, c, o)
		if err != nil {
			return levels, err
		}
		levels = append(levels, l)
	}
	return levels, nil
}

// NewClient is an HTTP client that keeps conns connections open to one host.
func NewClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: 90 * time.Second, DisableCompression: true}}
}

func runLevel(ctx context.Context, client *http.Client, url, key string, body [][]byte, idx, c int, o Options) (Level, error) {
	lvl := Level{Concurrency: c}
	var next, reqs, errs atomic.Int64
	per := make([][]Sample, c)
	gaps := make([][]float64, c)
	start := time.Now()
	deadline := start.Add(o.Duration)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rd := bufio.NewReaderSize(nil, 32<<10)
			for time.Now().Before(deadline) && lctx.Err() == nil {
				b := body[int(next.Add(1)-1)%len(body)]
				s, g := one(lctx, client, url, key, b, start, o.Timeout, rd)
				if lctx.Err() != nil && s.Err != "" {
					return // canceled: not a measurement
				}
				per[w] = append(per[w], s)
				gaps[w] = append(gaps[w], g...)
				reqs.Add(1)
				if s.Err != "" {
					errs.Add(1)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	report := func(fin bool) {
		if o.OnProgress != nil {
			o.OnProgress(Progress{Level: idx, Concurrency: c, Elapsed: min(time.Since(start), o.Duration), Duration: o.Duration, Requests: reqs.Load(), Errors: errs.Load(), Done: fin})
		}
	}
wait:
	for {
		select {
		case <-done:
			break wait
		case <-ctx.Done():
			cancel()
			<-done
			return lvl, ctx.Err()
		case <-tick.C:
			report(false)
		}
	}
	report(true)
	var all []float64
	for w := range c {
		lvl.Samples = append(lvl.Samples, per[w]...)
		all = append(all, gaps[w]...)
	}
	sortSamples(lvl.Samples)
	summarize(&lvl, all, o.Objective)
	return lvl, nil
}

// one sends one streaming request and times it. gaps are the inter-token
// gaps in seconds.
func one(ctx context.Context, client *http.Client, url, key string, body []byte, t0 time.Time, timeout time.Duration, rd *bufio.Reader) (Sample, []float64) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	begin := time.Now()
	s := Sample{Start: begin.Sub(t0).Seconds()}
	fail := func(why string) (Sample, []float64) {
		s.E2E = time.Since(begin).Seconds()
		s.Err = why
		return s, nil
	}
	resp, err := client.Do(req)
	if err != nil {
		return fail(errKind(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return fail(fmt.Sprintf("HTTP %d", resp.StatusCode))
	}
	rd.Reset(resp.Body)
	st := streamState{}
	var gaps []float64
	for {
		line, err := rd.ReadSlice('\n')
		now := time.Now()
		if len(line) > 0 {
			switch st.line(line) {
			case lineToken:
				if st.tokens == 1 {
					s.TTFT = now.Sub(begin).Seconds()
				} else {
					gaps = append(gaps, now.Sub(st.last).Seconds())
				}
				st.last = now
			case lineDone:
				s.E2E = now.Sub(begin).Seconds()
				s.Out, s.In = st.tokens, st.prompt
				if st.usageOut > 0 {
					s.Out = st.usageOut
				}
				if s.Out == 0 {
					return fail("no tokens")
				}
				if len(gaps) > 0 {
					s.ITL = (st.last.Sub(begin).Seconds() - s.TTFT) / float64(len(gaps))
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				return s, gaps
			case lineError:
				return fail("error in stream")
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return fail("timeout")
			}
			return fail("stream cut before [DONE]")
		}
	}
}

type lineKind int

const (
	lineOther lineKind = iota
	lineToken
	lineDone
	lineError
)

// streamState reads server-sent events of a chat completion stream.
type streamState struct {
	tokens, prompt, usageOut int
	last                     time.Time
}

type chunk struct {
	Choices []struct {
		Delta struct {
			Content   string            `json:"content"`
			Reasoning string            `json:"reasoning_content"`
			ToolCalls []json.RawMessage `json:"tool_calls"`
		} `json:"delta"`
		Text string `json:"text"`
	} `json:"choices"`
	Usage *struct {
		Prompt     int `json:"prompt_tokens"`
		Completion int `json:"completion_tokens"`
	} `json:"usage"`
	Error json.RawMessage `json:"error"`
}

var (
	dataPrefix, doneMark = []byte("data:"), []byte("[DONE]")
	// Keys whose non-empty value makes a chunk carry output.
	tokenKeys  = [][]byte{[]byte(`"content":"`), []byte(`"text":"`), []byte(`"reasoning_content":"`), []byte(`"reasoning":"`)}
	toolCalls  = []byte(`"tool_calls":[`)
	usageKey   = []byte(`"usage":{`)
	errorKey   = []byte(`"error":`)
	emptyArray = []byte(`"tool_calls":[]`)
)

// line classifies one server-sent event line. Token chunks are told by
// scanning the bytes (no JSON decoding while the clock runs); only a chunk
// with usage or an error is decoded.
func (st *streamState) line(line []byte) lineKind {
	payload, ok := bytes.CutPrefix(line, dataPrefix)
	if !ok {
		return lineOther
	}
	payload = bytes.TrimSpace(payload)
	if bytes.Equal(payload, doneMark) {
		return lineDone
	}
	if bytes.Contains(payload, usageKey) || bytes.Contains(payload, errorKey) {
		var c chunk
		if json.Unmarshal(payload, &c) != nil {
			return lineOther
		}
		if len(c.Error) > 0 && string(c.Error) != "null" {
			return lineError
		}
		if c.Usage != nil {
			st.prompt, st.usageOut = c.Usage.Prompt, c.Usage.Completion
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content != "" || ch.Delta.Reasoning != "" || len(ch.Delta.ToolCalls) > 0 || ch.Text != "" {
				st.tokens++
				return lineToken
			}
		}
		return lineOther
	}
	for _, k := range tokenKeys {
		if i := bytes.Index(payload, k); i >= 0 && i+len(k) < len(payload) && payload[i+len(k)] != '"' {
			st.tokens++
			return lineToken
		}
	}
	if bytes.Contains(payload, toolCalls) && !bytes.Contains(payload, emptyArray) {
		st.tokens++
		return lineToken
	}
	return lineOther
}

// errKind names a transport error briefly, so errors group by cause.
func errKind(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection reset"
	}
	return "transport error"
}
