package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/vllmctl/vllmctl/internal/freeport"
	"github.com/vllmctl/vllmctl/internal/sim"
)

type engine struct {
	url    string
	cancel context.CancelFunc
	done   chan struct{}
}

// startEngine runs vllm-sim in-process and waits until /health answers.
func startEngine(t testing.TB, args ...string) *engine {
	t.Helper()
	port := freeport.T(t)
	ctx, cancel := context.WithCancel(context.Background())
	e := &engine{url: fmt.Sprintf("http://127.0.0.1:%d", port), cancel: cancel, done: make(chan struct{})}
	all := append([]string{"--host", "127.0.0.1", "--port", fmt.Sprint(port), "--disable-uvicorn-access-log", "--max-num-seqs", "2048",
		"--sim-phase-time=0", "--sim-load-time=0", "--sim-compile-time=0", "--sim-graph-time=0", "--sim-ttft=0", "--sim-prefill-per-token=0"}, args...)
	go func() { sim.Main(ctx, all, map[string]string{}, io.Discard, io.Discard); close(e.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if resp, err := http.Get(e.url + "/health"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("engine did not start")
		}
	}
	t.Cleanup(func() { cancel(); <-e.done })
	return e
}

type staticRoutes struct {
	mu sync.Mutex
	t  Table
}

func (s *staticRoutes) Table() Table { s.mu.Lock(); defer s.mu.Unlock(); return s.t }
func (s *staticRoutes) set(t Table)  { s.mu.Lock(); s.t = t; s.mu.Unlock() }

func newGateway(t testing.TB, routes Routes, o Options) *httptest.Server {
	g := New(routes, o)
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func key(t testing.TB, name, v string) Key {
	k, err := ParseKey(name, v)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoutingAliasesStreamingWithOpenAIClient(t *testing.T) {
	medium := startEngine(t, "--model", "Qwen/Qwen3-32B-AWQ", "--served-model-name", "qwen3-32b", "--api-key", "engine-key-medium", "--sim-itl=1ms")
	micro := startEngine(t, "--model", "Qwen/Qwen3-1.7B", "--served-model-name", "qwen3-1.7b", "--api-key", "engine-key-micro")
	um := &Upstream{Profile: "medium", BaseURL: medium.url, APIKey: "engine-key-medium", Ready: true, Served: []string{"qwen3-32b"}}
	uµ := &Upstream{Profile: "micro", BaseURL: micro.url, APIKey: "engine-key-micro", Ready: true, Served: []string{"qwen3-1.7b"}}
	routes := &staticRoutes{t: Table{"qwen3-32b": {um}, "medium": {um}, "qwen3-1.7b": {uµ}, "micro": {uµ}}}
	srv := newGateway(t, routes, Options{Keys: []Key{key(t, "team", "client-key-0123456789")}})
	c := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("client-key-0123456789"))
	// alias "medium" reaches the medium engine, with the engine's own key injected
	resp, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "medium",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}, MaxTokens: openai.Int(5)})
	if err != nil || resp.Model != "qwen3-32b" || resp.Usage.CompletionTokens != 5 {
		t.Fatalf("%+v %v", resp, err)
	}
	stream := c.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{Model: "micro",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}, MaxTokens: openai.Int(4)})
	var text strings.Builder
	for stream.Next() {
		if ch := stream.Current(); len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Delta.Content)
		}
	}
	if stream.Err() != nil || len(strings.Fields(text.String())) != 4 {
		t.Fatalf("stream %q %v", text.String(), stream.Err())
	}
	page, err := c.Models.List(t.Context())
	if err != nil || len(page.Data) != 4 {
		t.Fatalf("models %+v %v", page, err)
	}
}

func do(t *testing.T, method, url, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestErrorShapes(t *testing.T) {
	e := startEngine(t, "--model", "m-1B")
	loading := &Upstream{Profile: "big", Ready: false, Reason: "loading (phase loading)", Since: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	routes := &staticRoutes{t: Table{"m-1B": {{Profile: "small", BaseURL: e.url, Ready: true}}, "big": {loading}}}
	srv := newGateway(t, routes, Options{Keys: []Key{key(t, "a", "sha256:"+hexSum("right-key-0123456789")+"|m-1B")}, MaxBody: 1024})
	auth := []string{"Authorization", "Bearer right-key-0123456789"}
	code, h, body := do(t, "POST", srv.URL+"/v1/completions", `{"model":"m-1B","prompt":"x"}`)
	if code != 401 || !strings.Contains(body, `"source":"vllmctl-gateway"`) || h.Get("X-Vllmctl-Gateway-Error") != "1" {
		t.Errorf("no key: %d %s", code, body)
	}
	code, _, _ = do(t, "POST", srv.URL+"/v1/completions", `{"model":"m-1B","prompt":"x"}`, "Authorization", "Bearer wrong-key-0123456789")
	if code != 401 {
		t.Errorf("wrong key: %d", code)
	}
	code, _, body = do(t, "POST", srv.URL+"/v1/completions", `{"model":"nope","prompt":"x"}`, auth...)
	if code != 404 || !strings.Contains(body, `"available_models":["m-1B"]`) {
		t.Errorf("unknown model: %d %s", code, body)
	}
	// the key may use only m-1B: big is hidden and refused
	code, _, body = do(t, "POST", srv.URL+"/v1/completions", `{"model":"big","prompt":"x"}`, auth...)
	if code != 404 {
		t.Errorf("model outside the key's list: %d %s", code, body)
	}
	srv2 := newGateway(t, routes, Options{})
	code, h, body = do(t, "POST", srv2.URL+"/v1/completions", `{"model":"big","prompt":"x"}`)
	if code != 503 || h.Get("Retry-After") == "" || !strings.Contains(body, `"reason":"big is loading (phase loading)"`) || !strings.Contains(body, `"since":"2026-11-27T09:00:00Z"`) {
		t.Errorf("not ready: %d %v %s", code, h, body)
	}
	code, _, body = do(t, "POST", srv.URL+"/v1/completions", `{"model":"m-1B","prompt":"`+strings.Repeat("x", 2000)+`"}`, auth...)
	if code != 413 {
		t.Errorf("too large: %d %s", code, body)
	}
	code, _, _ = do(t, "POST", srv.URL+"/v1/completions", `not json`, auth...)
	if code != 400 {
		t.Errorf("bad json: %d", code)
	}
	// an engine's own error passes through unchanged
	code, h, body = do(t, "POST", srv.URL+"/v1/completions", `{"model":"m-1B","prompt":"x","max_tokens":999999}`, auth...)
	if code != 400 || h.Get("X-Vllmctl-Gateway-Error") != "" || !strings.Contains(body, "maximum context length") {
		t.Errorf("engine error: %d %s", code, body)
	}
}

// TestRetryBeforeFirstByte: a dead replica is skipped when nothing was sent yet.
func TestRetryBeforeFirstByte(t *testing.T) {
	good := startEngine(t, "--model", "m-1B")
	deadPort := freeport.T(t) // nothing listens: connection refused
	dead := &Upstream{Profile: "a", BaseURL: fmt.Sprintf("http://127.0.0.1:%d", deadPort), Ready: true}
	live := &Upstream{Profile: "b", BaseURL: good.url, Ready: true}
	routes := &staticRoutes{t: Table{"m-1B": {dead, live}}}
	obs := &countObs{}
	g := New(routes, Options{Observer: obs})
	g.load(live).Store(5) // least outstanding picks the dead one first
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	code, h, body := do(t, "POST", srv.URL+"/v1/completions", `{"model":"m-1B","prompt":"x"}`)
	if code != 200 || h.Get("X-Vllmctl-Profile") != "b" || obs.retries.Load() != 1 {
		t.Fatalf("%d %v %s retries %d", code, h, body, obs.retries.Load())
	}
}

// TestNoRetryAfterFirstByte: an engine that dies mid-stream ends the stream
// with an error event; the request is not replayed on another engine.
func TestNoRetryAfterFirstByte(t *testing.T) {
	a := startEngine(t, "--model", "m-1B", "--sim-itl=20ms")
	b := startEngine(t, "--model", "m-1B")
	ua := &Upstream{Profile: "a", BaseURL: a.url, Ready: true}
	ub := &Upstream{Profile: "b", BaseURL: b.url, Ready: true}
	routes := &staticRoutes{t: Table{"m-1B": {ua, ub}}}
	obs := &countObs{}
	g := New(routes, Options{Observer: obs})
	g.load(ub).Store(10)
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL+"/v1/completions", "application/json", strings.NewReader(`{"model":"m-1B","prompt":"x","max_tokens":200,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	kill(t, a) // the engine dies mid-stream
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), `"source":"vllmctl-gateway"`) || strings.Contains(string(rest), "[DONE]") {
		t.Fatalf("stream end: %s", rest)
	}
	if obs.retries.Load() != 0 || resp.Header.Get("X-Vllmctl-Profile") != "a" {
		t.Fatalf("retried after bytes were sent")
	}
}

func TestDrainAndReload(t *testing.T) {
	e := startEngine(t, "--model", "m-1B", "--sim-itl=20ms")
	routes := &staticRoutes{t: Table{}}
	g := New(routes, Options{Drain: 10 * time.Second})
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	// reload: a profile appears without a restart
	code, _, _ := do(t, "POST", srv.URL+"/v1/completions", `{"model":"m-1B","prompt":"x"}`)
	if code != 404 {
		t.Fatalf("before reload %d", code)
	}
	routes.set(Table{"m-1B": {{Profile: "p", BaseURL: e.url, Ready: true}}})
	resp, err := http.Post(srv.URL+"/v1/completions", "application/json", strings.NewReader(`{"model":"m-1B","prompt":"x","max_tokens":20,"stream":true}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after reload %v", err)
	}
	drained := make(chan error, 1)
	go func() { drained <- g.Drain(context.Background()) }()
	deadline := time.Now().Add(5 * time.Second)
	for !g.draining.Load() && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	code, _, _ = do(t, "POST", srv.URL+"/v1/completions", `{"model":"m-1B","prompt":"x"}`)
	if code != 503 {
		t.Fatalf("new request while draining: %d", code)
	}
	all, _ := io.ReadAll(resp.Body) // the in-flight stream completes
	resp.Body.Close()
	if !strings.HasSuffix(string(all), "data: [DONE]\n\n") {
		t.Fatalf("in-flight stream cut: %q", all)
	}
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
}

type starter struct {
	t      *testing.T
	routes *staticRoutes
	calls  atomic.Int64
}

func (s *starter) Start(ctx context.Context, model string) error {
	s.calls.Add(1)
	e := startEngine(s.t, "--model", "m-1B")
	s.routes.set(Table{"m-1B": {{Profile: "od", BaseURL: e.url, Ready: true, OnDemand: true}}})
	return nil
}

func TestOnDemandStart(t *testing.T) {
	routes := &staticRoutes{t: Table{"m-1B": {{Profile: "od", Ready: false, Reason: "stopped (on demand)", OnDemand: true}}}}
	st := &starter{t: t, routes: routes}
	srv := newGateway(t, routes, Options{Starter: st})
	code, _, body := do(t, "POST", srv.URL+"/v1/completions", `{"model":"m-1B","prompt":"x"}`)
	if code != 200 || st.calls.Load() != 1 {
		t.Fatalf("%d %s calls %d", code, body, st.calls.Load())
	}
	if code, _, _ := do(t, "POST", srv.URL+"/v1/completions", `{"model":"m-1B","prompt":"x"}`); code != 200 || st.calls.Load() != 1 {
		t.Fatalf("second request started it again")
	}
}

// kill makes a simulated engine's core die: streams drop, requests get 500.
func kill(t testing.TB, e *engine) {
	resp, err := http.Post(e.url+"/sim/fault", "application/json", strings.NewReader(`{"crash":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

type countObs struct {
	nopObserver
	retries atomic.Int64
}

func (c *countObs) Retry(string) { c.retries.Add(1) }

// TestLoadWithEngineKilled: 1,000 concurrent streams through the gateway while
// one of two engines is killed. Every client gets a complete stream or a
// terminal error event; none hangs; no goroutine is left behind.
func TestLoadWithEngineKilled(t *testing.T) {
	before := runtime.NumGoroutine()
	a := startEngine(t, "--model", "m-1B", "--sim-itl=10ms")
	b := startEngine(t, "--model", "m-1B", "--sim-itl=10ms")
	routes := &staticRoutes{t: Table{"m-1B": {{Profile: "a", BaseURL: a.url, Ready: true}, {Profile: "b", BaseURL: b.url, Ready: true}}}}
	g := New(routes, Options{})
	srv := httptest.NewServer(g.Handler())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1000, MaxConnsPerHost: 1100}, Timeout: 60 * time.Second}
	const n = 1000
	var complete, errored, other atomic.Int64
	var wg sync.WaitGroup
	started := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Post(srv.URL+"/v1/completions", "application/json", strings.NewReader(`{"model":"m-1B","prompt":"x","max_tokens":30,"stream":true}`))
			started <- struct{}{}
			if err != nil {
				other.Add(1)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			s := string(body)
			switch {
			case strings.HasSuffix(s, "data: [DONE]\n\n"):
				complete.Add(1)
			case strings.Contains(s, `"error"`):
				errored.Add(1)
			default:
				other.Add(1)
			}
		}()
	}
	for i := 0; i < n/2; i++ {
		<-started
	}
	kill(t, a) // kill one engine under load
	wg.Wait()
	if complete.Load()+errored.Load() != n || other.Load() != 0 {
		t.Fatalf("complete %d, error events %d, other %d", complete.Load(), errored.Load(), other.Load())
	}
	t.Logf("complete %d, error events %d", complete.Load(), errored.Load())
	if err := g.Drain(context.Background()); err != nil { // nothing in flight: drains at once, closing the engine connections
		t.Fatalf("drain after every stream ended: %v", err)
	}
	srv.Close()
	client.CloseIdleConnections()
	a.cancel()
	<-a.done
	b.cancel()
	<-b.done
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+5 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines %d → %d:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
	var st runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&st)
	t.Logf("heap in use after the run: %d KiB", st.HeapInuse/1024)
}

func hexSum(s string) string {
	k, _ := ParseKey("x", s)
	b, _ := json.Marshal(k.Hash)
	_ = b
	const hexd = "0123456789abcdef"
	out := make([]byte, 64)
	for i, c := range k.Hash {
		out[2*i], out[2*i+1] = hexd[c>>4], hexd[c&15]
	}
	return string(out)
}

func TestPeekModel(t *testing.T) {
	m, s, e, err := peekModel([]byte(`{"messages":[{"model":"inner"}],"model":"outer","x":1}`))
	if err != nil || m != "outer" {
		t.Fatal(m, err)
	}
	body := []byte(`{"messages":[{"model":"inner"}],"model":"outer","x":1}`)
	got := withModel(body, s, e, "outer", &Upstream{Served: []string{"served-name"}})
	if string(got) != `{"messages":[{"model":"inner"}],"model":"served-name","x":1}` {
		t.Fatalf("%s", got)
	}
	for _, bad := range []string{`[]`, `{"model":1}`, `{}`, `{"model"`} {
		if _, _, _, err := peekModel([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func FuzzPeekModel(f *testing.F) {
	f.Add(`{"model":"m","prompt":"x"}`)
	f.Add(`{"a":{"model":"x"},"model":"y\u00e9"}`)
	f.Fuzz(func(t *testing.T, s string) {
		m, start, end, err := peekModel([]byte(s))
		if err != nil {
			return
		}
		var v struct{ Model string }
		if json.Unmarshal([]byte(s[start:end]), &v.Model) != nil || v.Model != m {
			t.Fatalf("span %d..%d of %q is not %q", start, end, s, m)
		}
	})
}

// TestRoutesSwappedUnderLoad: the routes are replaced continuously (readiness,
// keys, served names and addresses of two engines change with every table)
// while 1,000 requests run through the gateway. Every request gets a complete
// answer from an engine that was ready in the table it read, and under -race
// the detector stays quiet: a table, once published, is only read.
func TestRoutesSwappedUnderLoad(t *testing.T) {
	a := startEngine(t, "--model", "m-1B", "--served-model-name", "served-a", "--api-key", "engine-key-a-0001")
	b := startEngine(t, "--model", "m-1B", "--served-model-name", "served-b", "--api-key", "engine-key-b-0002")
	up := func(profile, url, key, served string, ready bool) *Upstream {
		u := &Upstream{Profile: profile, BaseURL: url, APIKey: key, Ready: ready, Served: []string{served}, Since: time.Now()}
		if !ready {
			u.Reason, u.BaseURL, u.APIKey = "loading", "http://127.0.0.1:1", "stale-key"
		}
		return u
	}
	// Each table has one or two ready engines for "m"; which ones changes every swap.
	tables := []func() Table{
		func() Table {
			return Table{"m": {up("a", a.url, "engine-key-a-0001", "served-a", true), up("b", b.url, "engine-key-b-0002", "served-b", false)}}
		},
		func() Table {
			return Table{"m": {up("a", a.url, "engine-key-a-0001", "served-a", false), up("b", b.url, "engine-key-b-0002", "served-b", true)}}
		},
		func() Table {
			return Table{"m": {up("b", b.url, "engine-key-b-0002", "served-b", true), up("a", a.url, "engine-key-a-0001", "served-a", true)}}
		},
	}
	routes := &Snapshot{}
	routes.Store(tables[0]())
	g := New(routes, Options{})
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	stop := make(chan struct{})
	swapped := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				swapped <- n
				return
			default:
			}
			n++
			routes.Store(tables[n%len(tables)]())
			runtime.Gosched()
		}
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200, MaxConnsPerHost: 200}, Timeout: 60 * time.Second}
	defer client.CloseIdleConnections()
	const n = 1000
	var ok atomic.Int64
	var byProfile sync.Map
	var bad sync.Map
	var wg sync.WaitGroup
	var inline atomic.Int64 // swaps made by the requests themselves: scheduling cannot starve them
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			routes.Store(tables[i%len(tables)]())
			inline.Add(1)
			resp, err := client.Post(srv.URL+"/v1/chat/completions", "application/json",
				strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":3}`))
			if err != nil {
				bad.Store(i, err.Error())
				return
			}
			defer resp.Body.Close()
			var out struct {
				Model string `json:"model"`
				Usage struct {
					CompletionTokens int `json:"completion_tokens"`
				} `json:"usage"`
			}
			body, _ := io.ReadAll(resp.Body)
			prof := resp.Header.Get("X-Vllmctl-Profile")
			if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil || out.Usage.CompletionTokens != 3 || out.Model != "served-"+prof {
				bad.Store(i, fmt.Sprintf("%d %s: %s", resp.StatusCode, prof, body))
				return
			}
			c, _ := byProfile.LoadOrStore(prof, new(atomic.Int64))
			c.(*atomic.Int64).Add(1)
			ok.Add(1)
		}()
	}
	wg.Wait()
	close(stop)
	swaps := <-swapped + int(inline.Load())
	bad.Range(func(k, v any) bool { t.Errorf("request %v: %v", k, v); return true })
	if ok.Load() != n {
		t.Fatalf("%d of %d requests answered", ok.Load(), n)
	}
	if swaps < n {
		t.Fatalf("the routes were swapped only %d times during the run", swaps)
	}
	for _, p := range []string{"a", "b"} {
		if c, found := byProfile.Load(p); !found || c.(*atomic.Int64).Load() == 0 {
			t.Fatalf("no request reached engine %s", p)
		}
	}
	if g.Outstanding(a.url) != 0 || g.Outstanding(b.url) != 0 {
		t.Fatalf("in flight after the run: a %d, b %d", g.Outstanding(a.url), g.Outstanding(b.url))
	}
	t.Logf("%d requests answered over %d route swaps", n, swaps)
}
