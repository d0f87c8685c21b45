package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/gateway"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/redact"
	"github.com/vllmctl/vllmctl/internal/serve"
	"github.com/vllmctl/vllmctl/internal/watchdog"
)

// testDashboard: alpha healthy with metrics, beta wedged, a transition and a
// log line holding a secret.
func testDashboard(t testing.TB, keys []gateway.Key) (*Dashboard, *fakeSource) {
	a := metricsServer(t, func() string { return readFile(t, "vllm-0.10-deprecated-names.prom") })
	now := time.Now()
	src := &fakeSource{
		snap: serve.Snapshot{Profiles: []serve.ProfileState{
			{Profile: "alpha", Models: []string{"alpha", "chat"}, BaseURL: a.URL, Ready: true, Since: now.Add(-time.Minute),
				Watchdog: &watchdog.Status{State: watchdog.Healthy, Since: now.Add(-time.Minute)}},
			{Profile: "beta", Models: []string{"beta"}, BaseURL: a.URL, Ready: true, Since: now.Add(-time.Minute),
				Watchdog: &watchdog.Status{State: watchdog.Wedged, Since: now, Reason: "completion timed out with key " + secret}},
		},
			Transitions: []watchdog.Transition{{Profile: "beta", From: watchdog.Healthy, To: watchdog.Wedged, Action: watchdog.Restart, Reason: "2 completions missed", Time: now}}},
		p: &project.Project{Root: t.TempDir(), Config: project.Config{StateDir: ".vllmctl"}},
		logs: map[string][]string{
			"alpha": {"(EngineCore_0 pid=5) INFO 10-19 12:00:03 [gpu_model_runner.py:1] Starting to load model Qwen/Qwen3-0.6B...", "secret " + secret + " <script>alert(1)</script>"},
			"beta":  {"nothing"},
		},
	}
	d := New(src, Options{Keys: keys, Redact: func(*project.Project) *redact.Redactor { return redact.New(secret) }})
	d.Sampler().Round(context.Background())
	return d, src
}

func get(t testing.TB, h http.Handler, target string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Result()
}

func body(t testing.TB, r *http.Response) string {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPageShowsProfiles(t *testing.T) {
	d, _ := testDashboard(t, nil)
	resp := get(t, d.Handler(), "/", nil)
	page := body(t, resp)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	csp := resp.Header.Get("Content-Security-Policy")
	nonce := regexp.MustCompile(`script-src 'nonce-([^']+)'`).FindStringSubmatch(csp)
	if nonce == nil || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(page, `<script nonce="`+nonce[1]+`">`) {
		t.Fatalf("CSP %q does not hold the page's script nonce", csp)
	}
	for _, want := range []string{
		`<html lang="en">`,
		`role="status" aria-live="polite"`, // state changes are announced
		`data-profile="alpha" data-state="alpha: ready, watchdog healthy"`,   // each profile's state
		`data-profile="beta" data-state="beta: ready, watchdog wedged"`,      //
		`<span class="badge bad" data-watchdog="wedged">wedged</span>`,       // the state in words, not colour only
		`<span class="badge ok" data-watchdog="healthy">healthy</span>`,      //
		`<strong class="plot-now">0 %</strong>`,                              // KV usage from the new name (0.001 %), not the deprecated 50 %
		`<strong class="plot-now">3</strong>`,                                // running
		`<strong class="plot-now">2</strong>`,                                // waiting
		`aria-label="KV cache usage over the last 1h: now 0 %, highest 0 %"`, // plots described
		`<span class="mark">phase: loading</span>`,                           // phases marked in the tail
		`&lt;script&gt;alert(1)&lt;/script&gt;`,                              // log text escaped
		`<td>2 completions missed</td>`,                                      // transitions
		`<button type="button" id="pause" aria-pressed="false">Pause live updates</button>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, secret) {
		t.Error("page shows a secret")
	}
	if strings.Contains(page, "<script>alert") {
		t.Error("page runs a log line's script")
	}
	if m := regexp.MustCompile(`(?i)(src|href|action)="(https?:)?//`).FindString(page); m != "" {
		t.Errorf("page loads something from elsewhere: %s", m)
	}
	if strings.Contains(page, "Sign out") {
		t.Error("an open dashboard offers to sign out")
	}
	// the live fragment and the JSON say the same
	frag := body(t, get(t, d.Handler(), "/dashboard/live", nil))
	if !strings.Contains(frag, `data-state="beta: ready, watchdog wedged"`) || strings.Contains(frag, "<html") {
		t.Errorf("fragment: %.300s", frag)
	}
	var v View
	if err := json.Unmarshal([]byte(body(t, get(t, d.Handler(), "/dashboard/data.json", nil))), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Profiles) != 2 || v.Profiles[1].Watchdog != "wedged" || v.Profiles[0].Latest == nil || v.Profiles[0].Latest.Running != 3 || len(v.Transitions) != 1 {
		t.Fatalf("data.json: %+v", v)
	}
	if strings.Contains(fmt.Sprint(v), secret) {
		t.Fatal("data.json shows a secret")
	}
}

func TestPageFollowsState(t *testing.T) {
	d, src := testDashboard(t, nil)
	src.set("alpha", watchdog.Hung)
	frag := body(t, get(t, d.Handler(), "/dashboard/live", nil))
	if !strings.Contains(frag, `data-state="alpha: ready, watchdog hung"`) {
		t.Fatalf("a new watchdog state is not on the next fragment: %.400s", frag)
	}
}

func TestKeys(t *testing.T) {
	all, err := gateway.ParseKey("OPS", "ops-key-0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	chat, err := gateway.ParseKey("CHAT", "chat-key-0123456789abcdef|chat")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := testDashboard(t, []gateway.Key{all, chat})
	h := d.Handler()

	resp := get(t, h, "/", nil)
	page := body(t, resp)
	if resp.StatusCode != 401 || !strings.Contains(page, `<label for="key">Gateway key</label>`) || !strings.Contains(page, `id="key" name="key" type="password"`) || strings.Contains(page, "alpha") {
		t.Fatalf("without a key: %s\n%s", resp.Status, page)
	}
	for _, p := range []string{"/dashboard/live", "/dashboard/data.json"} {
		if r := get(t, h, p, nil); r.StatusCode != 401 {
			t.Errorf("%s without a key: %s", p, r.Status)
		}
	}
	if r := get(t, h, "/?key=wrong-key-0123456789abcdef", nil); r.StatusCode != 401 || !strings.Contains(body(t, r), "not one of the gateway") || len(r.Cookies()) != 0 {
		t.Fatalf("?key= wrong: %s", r.Status)
	}
	if r := get(t, h, "/", map[string]string{"Authorization": "Bearer ops-key-0123456789abcdef"}); r.StatusCode != 200 || !strings.Contains(body(t, r), "Sign out") {
		t.Fatalf("Bearer: %s", r.Status)
	}
	// ?key= once: a cookie, and the key leaves the URL
	r := get(t, h, "/?key=ops-key-0123456789abcdef", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" || len(r.Cookies()) != 1 {
		t.Fatalf("?key= good: %s location %q cookies %v", r.Status, r.Header.Get("Location"), r.Cookies())
	}
	c := r.Cookies()[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || strings.Contains(c.Value, "ops-key") {
		t.Fatalf("session cookie: %+v", c)
	}
	cookie := map[string]string{"Cookie": c.Name + "=" + c.Value}
	if r := get(t, h, "/dashboard/live", cookie); r.StatusCode != 200 {
		t.Fatalf("with the session cookie: %s", r.Status)
	}
	forged := map[string]string{"Cookie": c.Name + "=OPS." + strings.Repeat("0", 64)}
	if r := get(t, h, "/", forged); r.StatusCode != 401 {
		t.Fatalf("a forged cookie: %s", r.Status)
	}
	// the login form
	req := httptest.NewRequest("POST", "/dashboard/login", strings.NewReader(url.Values{"key": {"chat-key-0123456789abcdef"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusSeeOther || len(w.Result().Cookies()) != 1 {
		t.Fatalf("login form: %d", w.Code)
	}
	// a key limited to "chat" sees alpha (which serves chat) and not beta
	lc := w.Result().Cookies()[0]
	page = body(t, get(t, h, "/", map[string]string{"Cookie": lc.Name + "=" + lc.Value}))
	if !strings.Contains(page, `data-profile="alpha"`) || strings.Contains(page, `data-profile="beta"`) || strings.Contains(page, "2 completions missed") {
		t.Fatalf("a key limited to chat sees: %s", page)
	}
}

// TestMountLeavesGatewayRoutes: on serve's mux the page takes "/" exactly;
// every other path, /v1/... included, stays the gateway's.
func TestMountLeavesGatewayRoutes(t *testing.T) {
	d, _ := testDashboard(t, nil)
	mux := http.NewServeMux()
	d.Mount(mux.Handle)
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "gateway") }))
	for path, want := range map[string]string{"/v1/models": "gateway", "/v1/chat/completions": "gateway", "/health": "gateway", "/index.html": "gateway", "/": "vllmctl dashboard"} {
		if got := body(t, get(t, mux, path, nil)); !strings.Contains(got, want) {
			t.Errorf("GET %s: %.80q, want %q", path, got, want)
		}
	}
	req := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	if w.Body.String() != "gateway" {
		t.Errorf("POST / went to %q, want the gateway", w.Body.String())
	}
}

func TestLoginIsPostOnly(t *testing.T) {
	d, _ := testDashboard(t, nil)
	for _, p := range []string{"/dashboard/login", "/dashboard/logout"} {
		if r := get(t, d.Handler(), p, nil); r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "POST" {
			t.Errorf("GET %s: %s", p, r.Status)
		}
	}
}
