// Package gateway is one OpenAI-compatible endpoint in front of every profile:
// it reads a bounded request body, peeks only at the "model" field, picks a
// ready engine serving that name (least outstanding requests among replicas),
// injects the engine's own API key, and forwards the original bytes; responses
// stream back untouched, every SSE event flushed as it arrives. A request is
// retried on another engine only when nothing was sent to the client yet.
// Errors the gateway makes itself use the OpenAI shape with a marker naming the
// gateway. It uses the standard library only; routes, keys and metrics come in
// through interfaces it declares.
package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Upstream is one engine as the routes saw it at one moment. It is a value:
// the gateway never changes one, and whoever publishes a Table must not change
// its Upstreams afterwards either (requests read them without a lock); a new
// state is a new Table of new Upstreams. Live load (requests in flight) is kept
// by the gateway per BaseURL, so it survives route reloads.
type Upstream struct {
	Profile string
	BaseURL string // http://127.0.0.1:5002
	APIKey  string // the engine's --api-key, injected upstream; never logged
	Ready   bool
	Reason  string    // why not ready: "loading (phase kv-cache)", "down", ...
	Since   time.Time // when it entered its current state
	// OnDemand marks an engine that is started on the first request for it.
	OnDemand bool
	// Served are the names the engine itself answers to (--served-model-name);
	// a request for an alias is sent with the first of them.
	Served []string
	// Where is where the engine runs when not on this machine's runtimes
	// ("kubernetes <context> <namespace>/<deployment>:<port>"); "" locally.
	Where string
}

// Table maps model names (served names and aliases) to engines. A Table is a
// snapshot: once returned by Routes.Table it is only read.
type Table map[string][]*Upstream

// Routes gives the current table; it changes when profiles are deployed,
// stopped or edited, by replacing the whole table (see Snapshot).
type Routes interface {
	Table() Table
}

// Snapshot is a Routes whose table is swapped whole and atomically: readers
// get either the previous table or the next one, never a mix. The zero value
// routes nothing.
type Snapshot struct {
	p atomic.Pointer[Table]
}

// Table implements Routes.
func (s *Snapshot) Table() Table {
	if t := s.p.Load(); t != nil {
		return *t
	}
	return nil
}

// Store publishes t; the caller must not change t or its Upstreams afterwards.
func (s *Snapshot) Store(t Table) { s.p.Store(&t) }

// Starter starts an on-demand engine and waits until it is ready.
type Starter interface {
	Start(ctx context.Context, model string) error
}

// Observer receives what metrics need. Label values must be bounded: the
// gateway passes configured model names or "other".
type Observer interface {
	Request(model, route string, status int, dur, ttfb time.Duration)
	InFlight(delta int)
	UpstreamError(profile string)
	Retry(model string)
}

// Key is one gateway API key, kept as a SHA-256 hash.
type Key struct {
	Name   string
	Hash   [32]byte
	Models []string // allowed models; empty means all
}

// ParseKey reads a key value from .env: "sha256:<hex>" (a hash) or the key
// itself (hashed at once), optionally followed by "|model1,model2".
func ParseKey(name, value string) (Key, error) {
	k := Key{Name: name}
	v, models, _ := strings.Cut(value, "|")
	if models != "" {
		for _, m := range strings.Split(models, ",") {
			if m = strings.TrimSpace(m); m != "" {
				k.Models = append(k.Models, m)
			}
		}
	}
	if h, ok := strings.CutPrefix(v, "sha256:"); ok {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 32 {
			return k, fmt.Errorf("gateway key %s: sha256: wants 64 hex digits", name)
		}
		copy(k.Hash[:], b)
		return k, nil
	}
	if len(v) < 16 {
		return k, fmt.Errorf("gateway key %s is shorter than 16 characters", name)
	}
	k.Hash = sha256.Sum256([]byte(v))
	return k, nil
}

// Options configure a Gateway. Zero values take the defaults in parentheses.
type Options struct {
	Keys           []Key
	MaxBody        int64         // request body limit (16 MiB)
	ConnectTimeout time.Duration // dial (5s)
	FirstByte      time.Duration // from request to response headers (10m: long prompts prefill slowly)
	IdleStream     time.Duration // no byte for this long ends a stream (5m)
	StartTimeout   time.Duration // on-demand start wait (15m)
	Drain          time.Duration // graceful drain bound (30s)
	Logger         *slog.Logger
	Observer       Observer
	Starter        Starter
}

// Gateway is the HTTP handler.
type Gateway struct {
	routes    Routes
	o         Options
	transport *http.Transport
	draining  atomic.Bool
	inflight  sync.WaitGroup
	log       *slog.Logger
	loads     sync.Map // BaseURL → *atomic.Int64: requests in flight to that engine
}

// load is the in-flight counter of the engine at u.BaseURL.
func (g *Gateway) load(u *Upstream) *atomic.Int64 {
	if c, ok := g.loads.Load(u.BaseURL); ok {
		return c.(*atomic.Int64)
	}
	c, _ := g.loads.LoadOrStore(u.BaseURL, new(atomic.Int64))
	return c.(*atomic.Int64)
}

// Outstanding is the number of requests in flight to the engine at baseURL.
func (g *Gateway) Outstanding(baseURL string) int64 {
	if c, ok := g.loads.Load(baseURL); ok {
		return c.(*atomic.Int64).Load()
	}
	return 0
}

type nopObserver struct{}

func (nopObserver) Request(string, string, int, time.Duration, time.Duration) {}
func (nopObserver) InFlight(int)                                              {}
func (nopObserver) UpstreamError(string)                                      {}
func (nopObserver) Retry(string)                                              {}

// New builds a gateway over routes.
func New(routes Routes, o Options) *Gateway {
	if o.MaxBody == 0 {
		o.MaxBody = 16 << 20
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.FirstByte == 0 {
		o.FirstByte = 10 * time.Minute
	}
	if o.IdleStream == 0 {
		o.IdleStream = 5 * time.Minute
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 15 * time.Minute
	}
	if o.Drain == 0 {
		o.Drain = 30 * time.Second
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: o.FirstByte,
		DisableCompression:    true,
		WriteBufferSize:       1 << 10, // requests are written once; small buffers keep idle streams cheap
		ReadBufferSize:        2 << 10,
	}
	return &Gateway{routes: routes, o: o, transport: tr, log: log}
}

// Handler returns the routes of the gateway.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/v1/chat/completions", "/v1/completions", "/v1/embeddings"} {
		route := p
		mux.HandleFunc("POST "+p, func(w http.ResponseWriter, r *http.Request) { g.proxy(w, r, route) })
	}
	mux.HandleFunc("GET /v1/models", g.models)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		if g.draining.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	return mux
}

// Drain stops accepting new requests (503) and waits for in-flight ones, at
// most Options.Drain or until ctx ends; drained, it closes its idle
// connections to the engines.
func (g *Gateway) Drain(ctx context.Context) error {
	g.draining.Store(true)
	done := make(chan struct{})
	go func() { g.inflight.Wait(); close(done) }()
	t := time.NewTimer(g.o.Drain)
	defer t.Stop()
	select {
	case <-done:
		g.transport.CloseIdleConnections()
		return nil
	case <-t.C:
		return errors.New("drain timed out with requests still in flight")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// apiError writes an error the gateway makes, in the OpenAI shape.
func apiError(w http.ResponseWriter, code int, typ, msg string, extra map[string]any) {
	body := map[string]any{"message": msg, "type": typ, "param": nil, "code": code, "source": "vllmctl-gateway"}
	for k, v := range extra {
		body[k] = v
	}
	b, _ := json.Marshal(map[string]any{"error": body})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Vllmctl-Gateway-Error", "1")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// authorize returns the key that signs the request, or false.
func (g *Gateway) authorize(r *http.Request) (*Key, bool) {
	if len(g.o.Keys) == 0 {
		return nil, true
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, false
	}
	h := sha256.Sum256([]byte(tok))
	var found *Key
	for i := range g.o.Keys {
		if subtle.ConstantTimeCompare(h[:], g.o.Keys[i].Hash[:]) == 1 {
			found = &g.o.Keys[i]
		}
	}
	return found, found != nil
}

func (k *Key) allows(model string) bool {
	if k == nil || len(k.Models) == 0 {
		return true
	}
	for _, m := range k.Models {
		if m == model {
			return true
		}
	}
	return false
}

func (g *Gateway) models(w http.ResponseWriter, r *http.Request) {
	key, ok := g.authorize(r)
	if !ok {
		apiError(w, 401, "AuthenticationError", "missing or invalid API key", nil)
		return
	}
	type card struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		OwnedBy string `json:"owned_by"`
	}
	out := struct {
		Object string `json:"object"`
		Data   []card `json:"data"`
	}{Object: "list", Data: []card{}}
	t := g.routes.Table()
	for _, name := range slices.Sorted(maps.Keys(t)) {
		if !key.allows(name) {
			continue
		}
		for _, u := range t[name] {
			if u.Ready || u.OnDemand {
				out.Data = append(out.Data, card{ID: name, Object: "model", OwnedBy: "vllmctl:" + u.Profile})
				break
			}
		}
	}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// peekModel reads the top-level "model" string and where its JSON value
// starts and ends in body, without decoding the rest into values.
func peekModel(body []byte) (string, int, int, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return "", 0, 0, errors.New("the body is not a JSON object")
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return "", 0, 0, err
		}
		if k == "model" {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return "", 0, 0, err
			}
			end := int(dec.InputOffset())
			var m string
			if err := json.Unmarshal(raw, &m); err != nil {
				return "", 0, 0, errors.New(`"model" must be a string`)
			}
			return m, end - len(raw), end, nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", 0, 0, err
		}
	}
	return "", 0, 0, errors.New(`the request has no "model"`)
}

// withModel replaces the model value at [start, end) when the engine does not
// answer to the requested name (an alias); the other bytes stay as they were.
func withModel(body []byte, start, end int, model string, u *Upstream) []byte {
	if len(u.Served) == 0 {
		return body
	}
	for _, n := range u.Served {
		if n == model {
			return body
		}
	}
	q, _ := json.Marshal(u.Served[0])
	out := make([]byte, 0, len(body)+len(q))
	out = append(out, body[:start]...)
	out = append(out, q...)
	return append(out, body[end:]...)
}

// pick returns the ready engine with the fewest outstanding requests, skipping tried ones.
func (g *Gateway) pick(ups []*Upstream, tried map[*Upstream]bool) *Upstream {
	var best *Upstream
	var bestLoad int64
	for _, u := range ups {
		if !u.Ready || tried[u] {
			continue
		}
		if n := g.load(u).Load(); best == nil || n < bestLoad {
			best, bestLoad = u, n
		}
	}
	return best
}

type countingWriter struct {
	http.ResponseWriter
	wrote  bool
	status int
	first  time.Time
}

func (c *countingWriter) WriteHeader(s int) {
	c.status, c.wrote = s, true
	c.ResponseWriter.WriteHeader(s)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	if !c.wrote {
		c.WriteHeader(200)
	}
	if c.first.IsZero() {
		c.first = time.Now()
	}
	return c.ResponseWriter.Write(b)
}

func (g *Gateway) proxy(w http.ResponseWriter, r *http.Request, route string) {
	start := time.Now()
	if g.draining.Load() {
		w.Header().Set("Retry-After", "5")
		apiError(w, 503, "ServiceUnavailableError", "the gateway is shutting down", nil)
		return
	}
	g.inflight.Add(1)
	defer g.inflight.Done()
	g.o.Observer.InFlight(1)
	defer g.o.Observer.InFlight(-1)
	cw := &countingWriter{ResponseWriter: w, status: 200}
	modelLabel := "other"
	defer func() {
		ttfb := time.Duration(0)
		if !cw.first.IsZero() {
			ttfb = cw.first.Sub(start)
		}
		g.o.Observer.Request(modelLabel, route, cw.status, time.Since(start), ttfb)
		g.log.Info("request", "route", route, "model", modelLabel, "status", cw.status, "duration", time.Since(start).Round(time.Millisecond))
	}()
	key, ok := g.authorize(r)
	if !ok {
		apiError(cw, 401, "AuthenticationError", "missing or invalid API key: send Authorization: Bearer <key>", nil)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(cw, r.Body, g.o.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			apiError(cw, 413, "BadRequestError", fmt.Sprintf("the request body is larger than %d bytes", g.o.MaxBody), nil)
			return
		}
		apiError(cw, 400, "BadRequestError", "cannot read the request body", nil)
		return
	}
	model, mStart, mEnd, err := peekModel(body)
	if err != nil {
		apiError(cw, 400, "BadRequestError", err.Error(), nil)
		return
	}
	table := g.routes.Table()
	ups, known := table[model]
	if !known || !key.allows(model) {
		avail := []string{}
		for _, n := range slices.Sorted(maps.Keys(table)) {
			if key.allows(n) {
				avail = append(avail, n)
			}
		}
		apiError(cw, 404, "NotFoundError", fmt.Sprintf("The model `%s` does not exist. Available models: %s", model, strings.Join(avail, ", ")), map[string]any{"available_models": avail})
		return
	}
	modelLabel = model
	if g.pick(ups, nil) == nil && g.o.Starter != nil && onDemand(ups) {
		sctx, cancel := context.WithTimeout(r.Context(), g.o.StartTimeout)
		err := g.o.Starter.Start(sctx, model)
		cancel()
		if err != nil {
			w.Header().Set("Retry-After", "30")
			apiError(cw, 503, "ServiceUnavailableError", fmt.Sprintf("model %s could not be started: %v", model, err), nil)
			return
		}
		ups = g.routes.Table()[model]
	}
	tried := map[*Upstream]bool{}
	for {
		u := g.pick(ups, tried)
		if u == nil {
			reason, since := notReady(ups)
			cw.Header().Set("Retry-After", "10")
			apiError(cw, 503, "ServiceUnavailableError", fmt.Sprintf("no ready engine serves %s: %s", model, reason),
				map[string]any{"reason": reason, "since": since})
			return
		}
		tried[u] = true
		sent, err := g.forward(cw, r, u, withModel(body, mStart, mEnd, model, u), route)
		if err == nil {
			return
		}
		g.o.Observer.UpstreamError(u.Profile)
		g.log.Warn("upstream error", "profile", u.Profile, "route", route, "sent", sent, "err", err)
		if sent {
			return // bytes reached the client: no retry; the stream ends with an error event
		}
		if g.pick(ups, tried) == nil {
			cw.Header().Set("Retry-After", "5")
			apiError(cw, 502, "BadGatewayError", fmt.Sprintf("the engine for %s did not answer: %v", model, err), nil)
			return
		}
		g.o.Observer.Retry(model)
	}
}

func onDemand(ups []*Upstream) bool {
	for _, u := range ups {
		if u.OnDemand {
			return true
		}
	}
	return false
}

func notReady(ups []*Upstream) (string, string) {
	for _, u := range ups {
		if u.Reason != "" {
			since := ""
			if !u.Since.IsZero() {
				since = u.Since.UTC().Format(time.RFC3339)
			}
			return u.Profile + " is " + u.Reason, since
		}
	}
	return "no engine is ready", ""
}

// forward sends the request to one engine; sent tells whether any byte went to the client.
func (g *Gateway) forward(w *countingWriter, r *http.Request, u *Upstream, body []byte, route string) (sent bool, err error) {
	load := g.load(u)
	load.Add(1)
	defer load.Add(-1)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, u.BaseURL+route, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	for k, vs := range r.Header {
		switch strings.ToLower(k) {
		case "authorization", "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "proxy-authorization", "content-length":
			continue
		}
		req.Header[k] = vs
	}
	if u.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+u.APIKey)
	}
	req.ContentLength = int64(len(body))
	resp, err := g.transport.RoundTrip(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 500 && resp.StatusCode != 503 && resp.ContentLength == 0 {
		// vLLM answers 500 with an empty body once its engine core is dead: try another.
		return false, fmt.Errorf("HTTP %d with an empty body (engine dead)", resp.StatusCode)
	}
	h := w.Header()
	for k, vs := range resp.Header {
		switch strings.ToLower(k) {
		case "connection", "keep-alive", "transfer-encoding", "content-length":
			continue
		}
		h[k] = vs
	}
	h.Set("X-Vllmctl-Profile", u.Profile)
	w.WriteHeader(resp.StatusCode)
	fl, _ := w.ResponseWriter.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	// Stream: flush each read; an idle upstream for IdleStream ends the stream.
	idle := time.AfterFunc(g.o.IdleStream, cancel)
	defer idle.Stop()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			idle.Reset(g.o.IdleStream)
			if _, werr := w.Write(buf[:n]); werr != nil {
				return true, nil // the client left
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if rerr == io.EOF {
			return true, nil
		}
		if rerr != nil {
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				ev, _ := json.Marshal(map[string]any{"error": map[string]any{"message": "the engine stopped mid-stream: " + rerr.Error(), "type": "BadGatewayError", "code": 502, "source": "vllmctl-gateway"}})
				_, _ = fmt.Fprintf(w, "data: %s\n\n", ev)
				if fl != nil {
					fl.Flush()
				}
			}
			return true, rerr
		}
	}
}

// bufPool holds copy buffers: SSE events are small, so 2 KiB keeps an idle
// stream cheap while a whole response still moves in few reads.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 2<<10); return &b }}

// StatusText helps callers log statuses as classes.
func StatusText(code int) string { return strconv.Itoa(code/100) + "xx" }
