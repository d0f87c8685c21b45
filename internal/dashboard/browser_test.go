package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vllmctl/vllmctl/internal/freeport"
)

// TestBrowser runs the real thing: two vllm-sim engines deployed with
// `vllmctl up --simulate --runtime process`, `vllmctl serve` with a gateway
// key, and Debian's chromium (`make tools-chromium`) driven by chromedp. The
// login form opens the page, which shows each profile's state; a wedge
// injected into alpha's vllm-sim shows on the page, and is announced in its
// aria-live region, within 5 s; every control has a name and every text meets
// WCAG AA contrast (4.5:1) computed from the page's CSS colours. Screenshots
// are kept in t.ArtifactDir (go test -artifacts -outputdir DIR keeps them).

const browserProfile = `services:
  vllm-%[1]s:
    image: vllm/vllm-openai:v0.11.0
    ipc: host
    command: ["--model=Qwen/Qwen3-0.6B", "--served-model-name=%[1]s", "--max-model-len=4096", "--gpu-memory-utilization=0.2", "--enforce-eager"]
    ports: ["%[2]d:8000"]
    volumes: ["hf:/root/.cache/huggingface"]
    environment:
      VLLM_SIM_ARGS: "--sim-phase-time 5ms --sim-load-time 20ms"
    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ["0"], capabilities: [gpu]}]}}}
    x-vllmctl:
      watchdog: {interval: 500ms, warmup: 1s, completion_deadline: 500ms, wedge_after: 2, hung_after: 2, restart: false}
volumes: {hf: {}}
`

const browserKey = "dashboard-test-key-0123456789"

type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// a11yJS names every control without an accessible name and every role=img
// without a label, and checks an aria-live region exists.
const a11yJS = `(() => {
  const bad = []; let controls = 0;
  const nameOf = el => {
    let n = (el.getAttribute('aria-label') || '').trim();
    if (!n && el.getAttribute('aria-labelledby')) n = el.getAttribute('aria-labelledby').split(/\s+/).map(id => (document.getElementById(id) || {}).textContent || '').join(' ').trim();
    if (!n && el.labels && el.labels.length) n = [...el.labels].map(l => l.textContent).join(' ').trim();
    if (!n && !['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName)) n = el.textContent.trim();
    return n;
  };
  document.querySelectorAll('button, input:not([type=hidden]), select, textarea, summary, a[href], [role=button]').forEach(el => {
    controls++;
    if (!nameOf(el)) bad.push('unnamed control: ' + el.outerHTML.slice(0, 100));
  });
  document.querySelectorAll('[role=img]').forEach(el => { if (!nameOf(el)) bad.push('unlabelled image: ' + el.outerHTML.slice(0, 100)); });
  const live = document.querySelectorAll('[aria-live=polite], [aria-live=assertive], [role=status], [role=alert]').length;
  return {controls, live, bad};
})()`

// contrastJS computes, for every element with text of its own, the contrast
// of its colour against the first opaque background behind it (WCAG 2.x).
const contrastJS = `(() => {
  const parse = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bg = el => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0) return c; } return {r: 255, g: 255, b: 255, a: 1}; };
  const bad = []; let checked = 0, lowest = 99;
  document.querySelectorAll('body *').forEach(el => {
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) return;
    const cs = getComputedStyle(el);
    const fg = parse(cs.color), b = bg(el);
    const l1 = lum(fg), l2 = lum(b);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    checked++; lowest = Math.min(lowest, ratio);
    if (ratio < 4.5) bad.push(el.tagName + '.' + el.className + ' ' + ratio.toFixed(2) + ': ' + el.textContent.trim().slice(0, 40));
  });
  return {checked, lowest, bad};
})()`

type a11yResult struct {
	Controls int      `json:"controls"`
	Live     int      `json:"live"`
	Bad      []string `json:"bad"`
}

type contrastResult struct {
	Checked int      `json:"checked"`
	Lowest  float64  `json:"lowest"`
	Bad     []string `json:"bad"`
}

func TestBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run `make tools-chromium` (Debian: apt-get install -y --no-install-recommends chromium)")
	}
	bin := t.TempDir()
	vllmctl, simBin := filepath.Join(bin, "vllmctl"), filepath.Join(bin, "vllm-sim")
	for out, pkg := range map[string]string{vllmctl: "github.com/vllmctl/vllmctl/cmd/vllmctl", simBin: "github.com/vllmctl/vllmctl/cmd/vllm-sim"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	dir := t.TempDir()
	ports := map[string]int{"alpha": freeport.T(t), "beta": freeport.T(t)}
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, port := range ports {
		write("configs/docker/profiles/"+name+".yml", fmt.Sprintf(browserProfile, name, port))
	}
	write("vllmctl.yaml", fmt.Sprintf("project_name: dash%d\ngpus: [{name: RTX 4090, count: 1}]\n", time.Now().UnixNano()%1e9))
	write(".env", "VLLMCTL_GATEWAY_KEY_OPS="+browserKey+"\n")
	vctl := func(ctx context.Context, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, vllmctl, append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "VLLMCTL_NO_NVIDIA_SMI=1")
		return cmd
	}
	t.Cleanup(func() {
		if out, err := vctl(context.Background(), "down", "--runtime", "process").CombinedOutput(); err != nil {
			t.Logf("cleanup: vllmctl down: %v\n%s", err, out)
		}
	})
	upCtx, upCancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer upCancel()
	if out, err := vctl(upCtx, "up", "alpha", "beta", "--runtime", "process", "--simulate", "--sim-binary", simBin, "--progress", "plain").CombinedOutput(); err != nil {
		t.Fatalf("vllmctl up: %v\n%s", err, out)
	}
	gw := freeport.T(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", gw)
	sctx, scancel := context.WithCancel(context.Background())
	serve := vctl(sctx, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", gw), "--refresh", "300ms", "--runtime", "process", "--simulate", "--sim-binary", simBin)
	serveLog := &lockedBuf{}
	serve.Stdout, serve.Stderr = serveLog, serveLog
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { scancel(); _ = serve.Wait() })

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1400, 1000))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	bctx, tcancel := context.WithTimeout(bctx, 3*time.Minute)
	defer tcancel()
	art := t.ArtifactDir()
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100)) // 100: PNG
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		p := filepath.Join(art, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", p, len(png))
	}
	fail := func(format string, args ...any) {
		t.Helper()
		html, _ := chromedp.Run(bctx, chromedp.OuterHTML("html"))
		t.Fatalf(format+"\n--- page:\n%.3000s\n--- serve:\n%s", append(args, html, lastLines(serveLog.String(), 30))...)
	}
	// pollDOM evaluates js until it returns true, or fails at the deadline.
	pollDOM := func(within time.Duration, what, js string) time.Duration {
		t.Helper()
		start := time.Now()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			ok, err := chromedp.Run(bctx, chromedp.Evaluate[bool](js))
			if err == nil && ok {
				return time.Since(start)
			}
			if time.Since(start) > within {
				fail("%s: not within %s (last error: %v)", what, within, err)
			}
			<-tick.C
		}
	}
	// serve answers
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				break
			}
		}
		if time.Now().After(deadline) {
			fail("serve did not answer / with 401 (a key is set) within 60s: %v", err)
		}
		<-time.After(100 * time.Millisecond)
	}

	// the login form, checked, then used
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible("#key")); err != nil {
		fail("login page: %v", err)
	}
	login, err := chromedp.Run(bctx, chromedp.Evaluate[a11yResult](a11yJS))
	if err != nil {
		t.Fatal(err)
	}
	if login.Controls < 2 || len(login.Bad) > 0 {
		fail("login page: %d controls, unnamed: %v", login.Controls, login.Bad)
	}
	shot("login.png")
	if err := chromedp.Do(bctx, chromedp.SendKeys("#key", browserKey), chromedp.Submit("#key"), chromedp.WaitVisible("#live")); err != nil {
		fail("sign in: %v", err)
	}

	// each profile's state, healthy once the watchdog has seen both answer
	took := pollDOM(60*time.Second, "alpha and beta shown ready and healthy",
		`['alpha','beta'].every(p => { const a = document.querySelector('article[data-profile="' + p + '"]'); return a && a.dataset.state === p + ': ready, watchdog healthy' && a.querySelector('[data-watchdog]').textContent === 'healthy'; })`)
	t.Logf("both profiles healthy on the page after %s", took.Round(time.Millisecond))
	shot("healthy.png")

	page, err := chromedp.Run(bctx, chromedp.Evaluate[a11yResult](a11yJS))
	if err != nil {
		t.Fatal(err)
	}
	contrast, err := chromedp.Run(bctx, chromedp.Evaluate[contrastResult](contrastJS))
	if err != nil {
		t.Fatal(err)
	}
	if page.Controls < 3 || page.Live < 1 || len(page.Bad) > 0 {
		fail("page: %d controls, %d live regions, problems: %v", page.Controls, page.Live, page.Bad)
	}
	if contrast.Checked < 30 || len(contrast.Bad) > 0 {
		fail("contrast below 4.5:1 (of %d texts checked): %v", contrast.Checked, contrast.Bad)
	}
	t.Logf("accessibility: %d controls named, %d live regions; %d texts, lowest contrast %.2f:1", page.Controls, page.Live, contrast.Checked, contrast.Lowest)

	// a wedge in alpha's engine: on the page, and announced, within 5 s
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/sim/fault", ports["alpha"]), "application/json", strings.NewReader(`{"wedge":true}`))
	if err != nil || resp.StatusCode != 200 {
		fail("inject a wedge: %v %v", err, resp)
	}
	resp.Body.Close()
	took = pollDOM(5*time.Second, "alpha wedged on the page and in the aria-live region",
		`(() => { const a = document.querySelector('article[data-profile="alpha"]'); const live = document.getElementById('announce');
		  return !!a && a.querySelector('[data-watchdog]').textContent === 'wedged' && live.getAttribute('aria-live') === 'polite' && live.textContent.includes('alpha: ready, watchdog wedged'); })()`)
	t.Logf("wedge shown and announced %s after injection", took.Round(time.Millisecond))
	beta, err := chromedp.Run(bctx, chromedp.AttributeValue(`article[data-profile="beta"]`, "data-state"))
	if err != nil || beta.Value != "beta: ready, watchdog healthy" {
		fail("beta after alpha's wedge: %q %v", beta.Value, err)
	}
	row, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`[...document.querySelectorAll('#transitions-h + table tbody tr')].some(r => r.cells[1].textContent === 'alpha' && r.cells[3].textContent === 'wedged')`))
	if err != nil || !row {
		fail("no alpha → wedged row in the transitions table: %v", err)
	}
	shot("wedged.png")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
