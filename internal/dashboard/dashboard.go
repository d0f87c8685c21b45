package dashboard

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/vllmctl/vllmctl/internal/gateway"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/redact"
)

//go:embed page.html
var pageHTML string

var tmpl = template.Must(template.New("dashboard").Parse(pageHTML))

// Options configure a Dashboard; zero values take the defaults.
type Options struct {
	// Keys are the gateway's client keys (serve.Keys); none leaves the page open.
	Keys []gateway.Key
	// Redact masks a project's secrets in everything shown. Default: nothing masked.
	Redact func(*project.Project) *redact.Redactor
	// Sampler tunes sampling (its Redact is set from Redact).
	Sampler SamplerOptions
	// Poll is how often the page asks for fresh data (serve: --refresh).
	// Default: 2s; at least 250ms.
	Poll time.Duration
	// Logger receives sampling and rendering errors. Default: discard.
	Logger *slog.Logger
}

// Dashboard serves the page. Mount it on the serve address, run its sampler.
type Dashboard struct {
	src  Source
	o    Options
	auth *auth
	s    *Sampler
	log  *slog.Logger
}

// New returns a Dashboard over src (a *serve.Server).
func New(src Source, o Options) *Dashboard {
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	o.Poll = max(o.Poll, 250*time.Millisecond)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Sampler.Redact = o.Redact
	return &Dashboard{src: src, o: o, auth: newAuth(o.Keys), s: NewSampler(src, o.Sampler), log: o.Logger}
}

// Sampler is the dashboard's sampler.
func (d *Dashboard) Sampler() *Sampler { return d.s }

// Run samples the engines until ctx ends (the serve daemon's context).
func (d *Dashboard) Run(ctx context.Context) { d.s.Run(ctx) }

// Mount adds the dashboard's routes with handle (serve.Server.Handle): the
// page on exactly "/" (every other path stays the gateway's) and its data,
// fragment, login and logout under /dashboard/.
func (d *Dashboard) Mount(handle func(pattern string, h http.Handler)) {
	handle("GET /{$}", http.HandlerFunc(d.page))
	handle("GET /dashboard/live", http.HandlerFunc(d.live))
	handle("GET /dashboard/data.json", http.HandlerFunc(d.data))
	// No "POST " patterns: a method tree of POST would be searched first by
	// every gateway request (/v1/... are POSTs); login and logout check it.
	handle("/dashboard/login", postOnly(d.login))
	handle("/dashboard/logout", postOnly(d.logout))
}

// Handler is a mux with the dashboard's routes alone (tests, benchmarks).
func (d *Dashboard) Handler() http.Handler {
	mux := http.NewServeMux()
	d.Mount(mux.Handle)
	return mux
}

// View is what the page shows now to a request carrying key (nil: all).
func (d *Dashboard) View(key *gateway.Key) View {
	p := d.src.Project()
	red := func(s string) string { return s }
	if d.o.Redact != nil && p != nil {
		r := d.o.Redact(p)
		red = r.String
	}
	v := build(d.src.Snapshot(), d.s, key, time.Now(), red)
	v.Keyed = !d.auth.open()
	return v
}

func nonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:]) // no character HTML escapes
}

// headers are a strict policy: the page's own nonce'd script and style, its
// fetches to itself, no frames, no other origin.
func headers(w http.ResponseWriter, n string) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+n+"'; style-src 'nonce-"+n+"'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

type pageData struct {
	View       View
	Nonce      string
	PollMillis int64
	Failed     bool
}

func (d *Dashboard) render(w http.ResponseWriter, code int, name string, data pageData) {
	data.Nonce = nonce()
	data.PollMillis = d.o.Poll.Milliseconds()
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, name, data); err != nil {
		d.log.Error("dashboard: render", "template", name, "err", err)
		http.Error(w, "dashboard: render failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	headers(w, data.Nonce)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

func (d *Dashboard) page(w http.ResponseWriter, r *http.Request) {
	if k := r.URL.Query().Get("key"); k != "" {
		// ?key= once: a session cookie, then the same page without the key in the URL.
		if !d.auth.login(w, r, k) {
			d.render(w, http.StatusUnauthorized, "login", pageData{Failed: true})
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	key, ok := d.auth.check(r)
	if !ok {
		d.render(w, http.StatusUnauthorized, "login", pageData{})
		return
	}
	d.render(w, http.StatusOK, "page", pageData{View: d.View(key)})
}

func (d *Dashboard) live(w http.ResponseWriter, r *http.Request) {
	key, ok := d.auth.check(r)
	if !ok {
		http.Error(w, "sign in at / with a gateway key", http.StatusUnauthorized)
		return
	}
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, "live", d.View(key)); err != nil {
		http.Error(w, "dashboard: render failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	headers(w, nonce())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

func (d *Dashboard) data(w http.ResponseWriter, r *http.Request) {
	key, ok := d.auth.check(r)
	if !ok {
		http.Error(w, "sign in at / with a gateway key, or send Authorization: Bearer <key>", http.StatusUnauthorized)
		return
	}
	headers(w, nonce())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(d.View(key))
}

func postOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		h(w, r)
	})
}

func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if d.auth.open() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if !d.auth.login(w, r, r.PostFormValue("key")) {
		d.render(w, http.StatusUnauthorized, "login", pageData{Failed: true})
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
