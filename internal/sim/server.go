package sim

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server is the API side of a simulated engine: closed until Serve is called,
// as vLLM keeps its port closed while it loads.
type Server struct {
	e       *Engine
	opts    Options
	m       *metrics
	names   []string
	keys    []string
	sem     chan struct{}
	created int64
	nested  bool // error bodies nested under "error" (builds from about late 2025)

	running   atomic.Int64
	waiting   atomic.Int64
	kvTokens  atomic.Int64
	completed atomic.Int64
	dead      atomic.Bool
	wedged    atomic.Bool
	accessLog bool
	loadTrack bool

	mu          sync.Mutex
	unwedge     chan struct{}
	refuseUntil time.Time
	died        chan struct{} // closed when the process should exit after engine death
	dieOnce     sync.Once
}

// NewServer builds the API of a started engine.
func NewServer(e *Engine) *Server {
	a := e.Args()
	s := &Server{e: e, opts: e.opts, names: a.ServedNames(), created: time.Now().Unix(),
		sem: make(chan struct{}, max(1, a.MaxNumSeqs)), unwedge: make(chan struct{}), died: make(chan struct{}),
		accessLog: !a.IsSet("disable-uvicorn-access-log"), loadTrack: a.IsSet("enable-server-load-tracking")}
	if len(s.names) == 0 {
		s.names = []string{"Qwen/Qwen3-0.6B"}
	}
	if arg, ok := a.Lookup("api-key"); ok {
		s.keys = append(s.keys, arg.Values...)
	} else if a.APIKey != "" {
		s.keys = []string{a.APIKey}
	}
	s.nested = versionAtLeast(e.opts.Version, 0, 11)
	s.wedged.Store(e.opts.Wedge)
	s.m = newMetrics(s.names[0], e)
	return s
}

// Died is closed when the server should exit after an engine death.
func (s *Server) Died() <-chan struct{} { return s.died }

// Handler returns the HTTP routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	health := func(w http.ResponseWriter, r *http.Request) {
		if s.dead.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
	mux.HandleFunc("GET /health", health)
	mux.HandleFunc("GET /ping", health)
	mux.HandleFunc("POST /ping", health)
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"version": s.opts.Version})
	})
	mux.HandleFunc("GET /load", func(w http.ResponseWriter, r *http.Request) {
		n := int64(0)
		if s.loadTrack {
			n = s.running.Load() + s.waiting.Load()
		}
		writeJSON(w, 200, map[string]int64{"server_load": n})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /v1/models", s.models)
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { s.complete(w, r, true) })
	mux.HandleFunc("POST /v1/completions", func(w http.ResponseWriter, r *http.Request) { s.complete(w, r, false) })
	mux.HandleFunc("POST /sim/fault", s.fault)
	mux.HandleFunc("GET /sim/state", s.state)
	return s.middleware(mux)
}

func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w, status: 200}
		if len(s.keys) > 0 && r.Method != http.MethodOptions && strings.HasPrefix(r.URL.Path, "/v1") && !s.authorized(r) {
			rec.Header().Set("Content-Type", "application/json")
			rec.WriteHeader(http.StatusUnauthorized)
			_, _ = rec.Write([]byte(`{"error":"Unauthorized"}`))
		} else {
			next.ServeHTTP(rec, r)
		}
		if s.accessLog && r.URL.Path != "/metrics" {
			s.e.raw("APIServer", fmt.Sprintf("INFO:     %s - \"%s %s HTTP/1.1\" %d %s", r.RemoteAddr, r.Method, r.URL.Path, rec.status, http.StatusText(rec.status)))
		}
		switch r.URL.Path {
		case "/metrics", "/health", "/load", "/ping", "/version":
		default:
			s.m.http.WithLabelValues(r.URL.Path, r.Method, strconv.Itoa(rec.status/100)+"xx").Inc()
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(c int) { w.status = c; w.ResponseWriter.WriteHeader(c) }
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	for _, k := range s.keys {
		if subtle.ConstantTimeCompare([]byte(got), []byte(k)) == 1 {
			return true
		}
	}
	return false
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	type card struct {
		ID          string  `json:"id"`
		Object      string  `json:"object"`
		Created     int64   `json:"created"`
		OwnedBy     string  `json:"owned_by"`
		Root        string  `json:"root"`
		Parent      *string `json:"parent"`
		MaxModelLen int     `json:"max_model_len"`
		Permission  []any   `json:"permission"`
	}
	out := struct {
		Object string `json:"object"`
		Data   []card `json:"data"`
	}{Object: "list"}
	for _, n := range s.names {
		out.Data = append(out.Data, card{ID: n, Object: "model", Created: s.created, OwnedBy: "vllm", Root: s.e.args.Model,
			MaxModelLen: s.e.est.MaxModelLen, Permission: []any{map[string]any{"object": "model_permission", "allow_sampling": true}}})
	}
	writeJSON(w, 200, out)
}

// apiError writes vLLM's error body: flat in 0.10 builds, nested under "error" later.
func (s *Server) apiError(w http.ResponseWriter, code int, typ, msg string) {
	body := map[string]any{"message": msg, "type": typ, "param": nil, "code": code}
	if s.nested {
		writeJSON(w, code, map[string]any{"error": body})
		return
	}
	body["object"] = "error"
	writeJSON(w, code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

type message struct {
	Role    string `json:"role"`
	Content any    `json:"content"`
}

type request struct {
	Model               string    `json:"model"`
	Messages            []message `json:"messages"`
	Prompt              any       `json:"prompt"`
	MaxTokens           *int      `json:"max_tokens"`
	MaxCompletionTokens *int      `json:"max_completion_tokens"`
	Stream              bool      `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Seed       *int64 `json:"seed"`
	ToolChoice any    `json:"tool_choice"`
}

func (s *Server) complete(w http.ResponseWriter, r *http.Request, chat bool) {
	if s.dead.Load() {
		w.WriteHeader(http.StatusInternalServerError) // EngineDeadError: 500, empty body
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		return
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		s.apiError(w, 400, "BadRequestError", "Invalid JSON: "+err.Error())
		return
	}
	if !slices.Contains(s.names, req.Model) && req.Model != "" {
		s.apiError(w, 404, "NotFoundError", fmt.Sprintf("The model `%s` does not exist.", req.Model))
		return
	}
	if chat && len(req.Messages) == 0 {
		s.apiError(w, 400, "BadRequestError", "messages: field required")
		return
	}
	if tc, ok := req.ToolChoice.(string); ok && tc == "auto" && (!s.e.args.EnableAutoToolChoice || s.e.args.ToolCallParser == "") {
		s.apiError(w, 400, "BadRequestError", `"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set`)
		return
	}
	prompt := promptTokens(&req, chat)
	maxTok := s.opts.MaxTokens
	if req.MaxCompletionTokens != nil {
		maxTok = *req.MaxCompletionTokens
	} else if req.MaxTokens != nil {
		maxTok = *req.MaxTokens
	}
	if mml := s.e.est.MaxModelLen; mml > 0 && prompt+maxTok > mml {
		s.apiError(w, 400, "BadRequestError", fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the length of the messages or completion.", mml, prompt+maxTok, prompt, maxTok))
		return
	}
	start := time.Now()
	ctx := r.Context()
	// Concurrency cap: --max-num-seqs requests run, the rest wait.
	s.waiting.Add(1)
	s.m.waiting.Inc()
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		s.waiting.Add(-1)
		s.m.waiting.Dec()
		return
	}
	s.waiting.Add(-1)
	s.m.waiting.Dec()
	running := s.running.Add(1)
	s.m.running.Inc()
	s.m.queue.Observe(time.Since(start).Seconds())
	defer func() {
		<-s.sem
		s.running.Add(-1)
		s.m.running.Dec()
	}()
	g := s.generation(&req, prompt, maxTok, running)
	s.kvTokens.Add(int64(prompt))
	s.updateKV()
	defer func() {
		s.kvTokens.Add(-int64(prompt + g.sent))
		s.updateKV()
	}()
	id := fmt.Sprintf("%s-%016x", map[bool]string{true: "chatcmpl", false: "cmpl"}[chat], g.seed)
	if req.Stream {
		s.stream(w, ctx, chat, id, &req, g, prompt, start)
	} else {
		s.whole(w, ctx, chat, id, g, prompt, start)
	}
}

// generation is one request's deterministic output and timing.
type generation struct {
	seed   uint64
	tokens int
	finish string
	ttft   time.Duration
	itl    time.Duration
	sent   int
}

var words = strings.Fields("the model answers with plain words so that tests can read them and every run gives the same text for the same prompt and seed while load grows slower under many requests vllm simulator token stream")

func (s *Server) generation(req *request, prompt, maxTok int, running int64) *generation {
	h := fnv.New64a()
	b, _ := json.Marshal(req.Messages)
	h.Write(b)
	fmt.Fprint(h, req.Prompt, s.opts.Seed)
	if req.Seed != nil {
		fmt.Fprint(h, *req.Seed)
	}
	g := &generation{seed: h.Sum64()}
	natural := 8 + int(g.seed%57)
	g.tokens, g.finish = natural, "stop"
	if maxTok <= natural {
		g.tokens, g.finish = maxTok, "length"
	}
	load := float64(running) / float64(cap(s.sem))
	g.ttft = time.Duration(float64(s.opts.TTFT)*(1+load)) + time.Duration(prompt)*s.opts.PrefillTok
	g.itl = time.Duration(float64(s.opts.ITL) * (1 + 0.5*load))
	return g
}

func (g *generation) token(i int) string {
	x := g.seed + uint64(i)*0x9e3779b97f4a7c15
	x ^= x >> 31
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 29
	return words[x%uint64(len(words))] + " "
}

func (s *Server) updateKV() {
	if t := s.e.est.KVTokens; t > 0 {
		s.m.kvUsage.Set(float64(s.kvTokens.Load()) / float64(t))
	}
}

// wait sleeps d, or blocks while the engine is wedged; false when the client left.
func (s *Server) wait(ctx context.Context, d time.Duration, decode bool) bool {
	if decode && s.wedged.Load() {
		s.mu.Lock()
		ch := s.unwedge
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return false
		case <-ch:
		}
	}
	return sleep(ctx, d) == nil
}

func usage(prompt, completion int) map[string]any {
	return map[string]any{"prompt_tokens": prompt, "total_tokens": prompt + completion, "completion_tokens": completion, "prompt_tokens_details": nil}
}

func (s *Server) whole(w http.ResponseWriter, ctx context.Context, chat bool, id string, g *generation, prompt int, start time.Time) {
	if !s.wait(ctx, g.ttft, false) {
		s.finish(g, prompt, start, "abort")
		return
	}
	s.m.ttft.Observe(time.Since(start).Seconds())
	var text strings.Builder
	for i := 0; i < g.tokens; i++ {
		if i > 0 {
			if !s.wait(ctx, g.itl, true) {
				s.finish(g, prompt, start, "abort")
				return
			}
			s.m.itl.Observe(g.itl.Seconds())
		}
		if s.dead.Load() {
			s.finish(g, prompt, start, "abort")
			w.WriteHeader(http.StatusInternalServerError) // EngineDeadError: 500, empty body
			return
		}
		text.WriteString(g.token(i))
		g.sent++
		s.kvTokens.Add(1)
	}
	out := strings.TrimSpace(text.String())
	var resp map[string]any
	if chat {
		resp = map[string]any{"id": id, "object": "chat.completion", "created": time.Now().Unix(), "model": s.names[0],
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": out, "tool_calls": []any{}, "reasoning_content": nil},
				"logprobs": nil, "finish_reason": g.finish, "stop_reason": nil}},
			"usage": usage(prompt, g.tokens), "prompt_logprobs": nil}
	} else {
		resp = map[string]any{"id": id, "object": "text_completion", "created": time.Now().Unix(), "model": s.names[0],
			"choices": []any{map[string]any{"index": 0, "text": out, "logprobs": nil, "finish_reason": g.finish, "stop_reason": nil, "prompt_logprobs": nil}},
			"usage":   usage(prompt, g.tokens)}
	}
	writeJSON(w, 200, resp)
	s.finish(g, prompt, start, g.finish)
}

func (s *Server) stream(w http.ResponseWriter, ctx context.Context, chat bool, id string, req *request, g *generation, prompt int, start time.Time) {
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(200)
	created := time.Now().Unix()
	send := func(v any) bool {
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		if fl != nil {
			fl.Flush()
		}
		return true
	}
	obj := "text_completion"
	if chat {
		obj = "chat.completion.chunk"
	}
	choice := func(delta string, finish any, first bool) map[string]any {
		if chat {
			d := map[string]any{"content": delta}
			if first {
				d["role"] = "assistant"
			}
			return map[string]any{"index": 0, "delta": d, "logprobs": nil, "finish_reason": finish}
		}
		return map[string]any{"index": 0, "text": delta, "logprobs": nil, "finish_reason": finish, "stop_reason": nil}
	}
	chunk := func(c map[string]any) map[string]any {
		return map[string]any{"id": id, "object": obj, "created": created, "model": s.names[0], "choices": []any{c}}
	}
	if !s.wait(ctx, g.ttft, false) {
		s.finish(g, prompt, start, "abort")
		return
	}
	if chat && !send(chunk(choice("", nil, true))) {
		s.finish(g, prompt, start, "abort")
		return
	}
	s.m.ttft.Observe(time.Since(start).Seconds())
	for i := 0; i < g.tokens; i++ {
		if i > 0 {
			if !s.wait(ctx, g.itl, true) {
				s.finish(g, prompt, start, "abort")
				return
			}
			s.m.itl.Observe(g.itl.Seconds())
		}
		if s.dead.Load() {
			s.finish(g, prompt, start, "abort")
			panic(http.ErrAbortHandler) // the engine died: the connection drops mid-stream
		}
		var fin any
		if i == g.tokens-1 {
			fin = g.finish
		}
		tok := g.token(i)
		if i == g.tokens-1 {
			tok = strings.TrimRight(tok, " ")
		}
		if !send(chunk(choice(tok, fin, false))) {
			s.finish(g, prompt, start, "abort")
			return
		}
		g.sent++
		s.kvTokens.Add(1)
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		send(map[string]any{"id": id, "object": obj, "created": created, "model": s.names[0], "choices": []any{}, "usage": usage(prompt, g.tokens)})
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
	if fl != nil {
		fl.Flush()
	}
	s.finish(g, prompt, start, g.finish)
}

func (s *Server) finish(g *generation, prompt int, start time.Time, reason string) {
	s.m.prompt.Add(float64(prompt))
	s.m.generation.Add(float64(g.sent))
	s.m.success.WithLabelValues(reason).Inc()
	s.m.e2e.Observe(time.Since(start).Seconds())
	s.m.promptHist.Observe(float64(prompt))
	s.m.genHist.Observe(float64(g.sent))
	if n := s.completed.Add(1); s.opts.CrashAfterN > 0 && n >= int64(s.opts.CrashAfterN) {
		s.Die("simulated crash after " + strconv.Itoa(s.opts.CrashAfterN) + " requests")
	}
}

func promptTokens(req *request, chat bool) int {
	n := 0
	if chat {
		for _, m := range req.Messages {
			n += 4
			switch c := m.Content.(type) {
			case string:
				n += (len(c) + 3) / 4
			default:
				b, _ := json.Marshal(c)
				n += (len(b) + 3) / 4
			}
		}
		return n + 2
	}
	switch p := req.Prompt.(type) {
	case string:
		return max(1, (len(p)+3)/4)
	case []any:
		return max(1, len(p))
	}
	return 1
}

// Die simulates an engine-core death (EngineDeadError): /health turns 503,
// requests get 500, and the server exits after DeathExit unless
// VLLM_KEEP_ALIVE_ON_ENGINE_DEATH=1.
func (s *Server) Die(reason string) {
	s.dieOnce.Do(func() {
		s.dead.Store(true)
		s.e.logf("EngineCore_0", "ERROR", "core.py:720", "EngineCore encountered a fatal error.")
		s.e.logf("EngineCore_0", "ERROR", "core.py:720", "RuntimeError: %s", reason)
		s.e.logf("APIServer", "ERROR", "async_llm.py:416", "AsyncLLM output_handler failed.")
		s.e.raw("APIServer", "vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue. See stack trace (above) for the root cause.")
		if s.e.environ["VLLM_KEEP_ALIVE_ON_ENGINE_DEATH"] == "1" {
			return
		}
		go func() {
			_ = sleep(context.Background(), s.opts.DeathExit)
			close(s.died)
		}()
	})
}

// Fault is the body of POST /sim/fault.
type Fault struct {
	Wedge     *bool  `json:"wedge,omitempty"`      // decode hangs while /health says 200
	Crash     bool   `json:"crash,omitempty"`      // the engine core dies now
	RefuseFor string `json:"refuse_for,omitempty"` // close the port for this long (a lost port forward)
	ITL       string `json:"itl,omitempty"`        // new inter-token latency
	TTFT      string `json:"ttft,omitempty"`       // new time to first token
}

func (s *Server) fault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&f); err != nil {
		http.Error(w, "bad fault: "+err.Error(), 400)
		return
	}
	if f.Wedge != nil {
		s.SetWedge(*f.Wedge)
	}
	if f.ITL != "" || f.TTFT != "" {
		http.Error(w, "itl/ttft changes are set at start with --sim-itl and --sim-ttft", 400)
		return
	}
	if f.RefuseFor != "" {
		d, err := time.ParseDuration(f.RefuseFor)
		if err != nil {
			http.Error(w, "refuse_for: "+err.Error(), 400)
			return
		}
		s.mu.Lock()
		s.refuseUntil = time.Now().Add(d)
		s.mu.Unlock()
	}
	if f.Crash {
		s.Die("simulated crash (POST /sim/fault)")
	}
	s.state(w, r)
}

// SetWedge turns the decode hang on or off.
func (s *Server) SetWedge(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	was := s.wedged.Swap(on)
	if was && !on {
		close(s.unwedge)
		s.unwedge = make(chan struct{})
	}
}

func (s *Server) state(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	refusing := time.Now().Before(s.refuseUntil)
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"dead": s.dead.Load(), "wedged": s.wedged.Load(), "refusing": refusing,
		"running": s.running.Load(), "waiting": s.waiting.Load(), "completed": s.completed.Load()})
}

// refusing returns how long the port must stay closed, or 0.
func (s *Server) refusing() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Until(s.refuseUntil)
}

// Serve accepts on addr until ctx ends, closing the port while a refusal is on.
// ready is called with the bound address once the port accepts.
func (s *Server) Serve(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 30 * time.Second}
	ready(ln.Addr())
	bound := ln.Addr().String()
	errc := make(chan error, 1)
	var cur atomic.Pointer[net.Listener]
	cur.Store(&ln)
	go func() {
		for {
			l := *cur.Load()
			err := srv.Serve(l)
			if errors.Is(err, http.ErrServerClosed) {
				errc <- nil
				return
			}
			// The listener was closed for a refusal: wait, then listen again.
			for d := s.refusing(); d > 0; d = s.refusing() {
				if sleep(ctx, d) != nil {
					errc <- nil
					return
				}
			}
			nl, err := net.Listen("tcp", bound)
			if err != nil {
				errc <- err
				return
			}
			srv.SetKeepAlivesEnabled(true)
			cur.Store(&nl)
		}
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var crash <-chan time.Time
	if s.opts.CrashAfter > 0 {
		t := time.NewTimer(s.opts.CrashAfter)
		defer t.Stop()
		crash = t.C
	}
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s.e.raw("APIServer", "INFO:     Shutting down")
			_ = srv.Shutdown(sctx)
			return nil
		case err := <-errc:
			return err
		case <-crash:
			s.Die("simulated crash after " + s.opts.CrashAfter.String())
		case <-tick.C:
			if s.refusing() > 0 {
				// A lost port forward drops every connection, idle keep-alives included.
				srv.SetKeepAlivesEnabled(false)
				_ = (*cur.Load()).Close()
			}
		}
	}
}

func versionAtLeast(v string, major, minor int) bool {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if len(parts) < 2 {
		return true
	}
	ma, _ := strconv.Atoi(parts[0])
	mi, _ := strconv.Atoi(parts[1])
	return ma > major || (ma == major && mi >= minor)
}
