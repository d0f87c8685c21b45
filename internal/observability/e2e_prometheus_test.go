//go:build e2e

package observability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/freeport"
)

// This end-to-end test runs Debian's real prometheus (package prometheus;
// `make tools-prometheus`) with the configuration `vllmctl export prometheus`
// writes, against three vllm-sim engines deployed with `vllmctl up --simulate
// --runtime process` and `vllmctl serve` (gateway and watchdog), all as
// processes on loopback. Scaled for a test: the export runs with
// --scrape-interval 1s --evaluation-interval 1s, and the rules are the
// exported file with each duration shortened (scaledDurations). Nothing may be
// pending or firing while the project is healthy; then three faults are
// injected and each must fire its alert within a deadline: alpha wedged (the
// watchdog restarts it) → VllmEngineWedgedOrHung; beta's engine core killed
// (its server exits) → VllmEngineDown; gamma under KV pressure (decode hung
// while long prompts hold the cache) → VllmKVCacheNearlyFull.

// scaledDurations maps the exported rules' durations to the test's.
var scaledDurations = map[string]string{"1m": "2s", "5m": "8s", "10m": "1m", "15m": "5m"}

var durationRef = regexp.MustCompile(`(for: |\[)(1m|5m|10m|15m)(\]|\n)`)

type e2eProfile struct {
	name, util, simArgs, watchdog, slo string
	port                               int
}

const e2eProfileTmpl = `services:
  vllm-%[1]s:
    image: vllm/vllm-openai:v0.11.0
    ipc: host
    command: ["--model=Qwen/Qwen3-0.6B", "--served-model-name=%[1]s", "--max-model-len=4096", "--gpu-memory-utilization=%[2]s", "--enforce-eager"]
    ports: ["%[3]d:8000"]
    volumes: ["hf:/root/.cache/huggingface"]
    environment:
      VLLM_SIM_ARGS: "--sim-phase-time 5ms --sim-load-time 20ms %[4]s"
    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ["0"], capabilities: [gpu]}]}}}
    x-vllmctl:
      watchdog: %[5]s
%[6]svolumes: {hf: {}}
`

func goBuild(t *testing.T, out, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

// syncBuf collects a child's output.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// poll calls f every interval until it returns true or the deadline passes.
func poll(t *testing.T, within time.Duration, what string, f func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		ok, state := f()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last seen: %s", what, within, last)
		}
		<-tick.C
	}
}

type alert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s: %s", url, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func alerts(prom string) ([]alert, error) {
	var r struct {
		Data struct {
			Alerts []alert `json:"alerts"`
		} `json:"data"`
	}
	err := getJSON(prom+"/api/v1/alerts", &r)
	return r.Data.Alerts, err
}

// query runs an instant query and returns the number of series.
func query(prom, q string) (int, error) {
	var r struct {
		Data struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	err := getJSON(prom+"/api/v1/query?query="+urlQuery(q), &r)
	return len(r.Data.Result), err
}

func urlQuery(q string) string {
	return strings.NewReplacer("%", "%25", " ", "%20", "{", "%7B", "}", "%7D", `"`, "%22", "=", "%3D", "+", "%2B", "&", "%26", "#", "%23").Replace(q)
}

func TestPrometheusEndToEnd(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus is not installed: run `make tools-prometheus` (Debian's prometheus package: apt-get install -y --no-install-recommends prometheus)")
	}
	t0 := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(t0).Seconds(), what) }
	// make e2e-prometheus passes the binaries `make build` wrote; alone, the test builds them.
	bin := os.Getenv("VLLMCTL_E2E_BIN")
	if bin == "" {
		bin = t.TempDir()
		goBuild(t, filepath.Join(bin, "vllmctl"), "github.com/vllmctl/vllmctl/cmd/vllmctl")
		goBuild(t, filepath.Join(bin, "vllm-sim"), "github.com/vllmctl/vllmctl/cmd/vllm-sim")
	}
	vllmctl, simBin := filepath.Join(bin, "vllmctl"), filepath.Join(bin, "vllm-sim")

	phase("built vllmctl and vllm-sim")
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	profiles := []e2eProfile{
		// alpha: wedges; the watchdog restarts it. Its TTFT objective is never missed.
		{name: "alpha", util: "0.2", watchdog: "{interval: 500ms, warmup: 1s, completion_deadline: 500ms, wedge_after: 2, hung_after: 2}",
			slo: "      slo: {ttft_p95: 2s}\n"},
		// beta: its engine core dies and the server exits; the watchdog only reports.
		{name: "beta", util: "0.2", simArgs: "--sim-death-exit 200ms", watchdog: "{interval: 500ms, warmup: 1s, restart: false}"},
		// gamma: a small KV cache (about 8k tokens at 0.12 of a 4090, once the
		// profile's sampler warm-up is counted); the watchdog only reports.
		{name: "gamma", util: "0.12", watchdog: "{interval: 1s, warmup: 1s, completion_deadline: 2s, restart: false}"},
	}
	for i := range profiles {
		p := &profiles[i]
		p.port = freeport.T(t)
		write("configs/docker/profiles/"+p.name+".yml", fmt.Sprintf(e2eProfileTmpl, p.name, p.util, p.port, p.simArgs, p.watchdog, p.slo))
	}
	write("vllmctl.yaml", fmt.Sprintf("project_name: prom%d\ngpus: [{name: RTX 4090, count: 1}]\n", time.Now().UnixNano()%1e9))
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, vllmctl, append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "VLLMCTL_NO_NVIDIA_SMI=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("vllmctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		cmd := exec.Command(vllmctl, "-C", dir, "down", "--runtime", "process")
		cmd.Env = append(os.Environ(), "VLLMCTL_NO_NVIDIA_SMI=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("cleanup: vllmctl down: %v\n%s", err, out)
		}
	})
	run("up", "alpha", "beta", "gamma", "--runtime", "process", "--simulate", "--sim-binary", simBin, "--progress", "plain")

	phase("deployed alpha, beta, gamma")
	// the gateway and the watchdog
	gw := freeport.T(t)
	ctx, cancel := context.WithCancel(context.Background())
	serve := exec.CommandContext(ctx, vllmctl, "-C", dir, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", gw), "--refresh", "300ms",
		"--runtime", "process", "--simulate", "--sim-binary", simBin)
	serve.Env = append(os.Environ(), "VLLMCTL_NO_NVIDIA_SMI=1")
	serveLog := &syncBuf{}
	serve.Stdout, serve.Stderr = serveLog, serveLog
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = serve.Wait() })

	// the exported configuration, rules scaled
	mon := filepath.Join(dir, "monitoring")
	out := run("export", "prometheus", "-O", mon, "--gateway", fmt.Sprintf("127.0.0.1:%d", gw), "--scrape-interval", "1s", "--evaluation-interval", "1s")
	if !strings.Contains(out, "prometheus.yml") || !strings.Contains(out, RulesFile) {
		t.Fatalf("export prometheus wrote: %s", out)
	}
	rulesPath := filepath.Join(mon, RulesFile)
	rules, err := os.ReadFile(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	scaled := durationRef.ReplaceAllStringFunc(string(rules), func(m string) string {
		n++
		sm := durationRef.FindStringSubmatch(m)
		return sm[1] + scaledDurations[sm[2]] + sm[3]
	})
	if n < 8 || !strings.Contains(scaled, `profile="alpha"`) {
		t.Fatalf("scaled %d durations (want every for: and window), alpha's TTFT rule present: %v\n%s", n, strings.Contains(scaled, `profile="alpha"`), scaled)
	}
	if err := os.WriteFile(rulesPath, []byte(scaled), 0o644); err != nil {
		t.Fatal(err)
	}

	// Prometheus
	promPort := freeport.T(t)
	prom := fmt.Sprintf("http://127.0.0.1:%d", promPort)
	pcmd := exec.CommandContext(ctx, promBin, "--config.file="+filepath.Join(mon, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+fmt.Sprintf("127.0.0.1:%d", promPort), "--log.level=warn")
	promLog := &syncBuf{}
	pcmd.Stdout, pcmd.Stderr = promLog, promLog
	if err := pcmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = pcmd.Wait() })
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"\n--- serve:\n%s\n--- prometheus:\n%s", append(args, lastLines(serveLog.String(), 40), lastLines(promLog.String(), 20))...)
	}

	// healthy: every target up, the watchdog healthy on all three
	poll(t, 60*time.Second, "all 4 targets up and 3 profiles healthy", func() (bool, string) {
		up, err1 := query(prom, `up == 1`)
		healthy, err2 := query(prom, `vllmctl_watchdog_state{state="healthy"} == 1`)
		return err1 == nil && err2 == nil && up == 4 && healthy == 3, fmt.Sprintf("targets up %d (%v), healthy %d (%v)", up, err1, healthy, err2)
	})
	phase("targets up, watchdog healthy")
	for i := 0; i < 5; i++ { // traffic through the gateway
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", gw), "application/json",
			strings.NewReader(`{"model":"alpha","messages":[{"role":"user","content":"hi"}],"max_tokens":4}`))
		if err != nil || resp.StatusCode != 200 {
			fail("chat through the gateway: %v %v", err, resp)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// nothing pending or firing for longer than the longest scaled window and for
	healthyFor := 12 * time.Second
	start := time.Now()
	tick := time.NewTicker(500 * time.Millisecond)
	checks := 0
	for time.Since(start) < healthyFor {
		as, err := alerts(prom)
		if err != nil {
			fail("alerts: %v", err)
		}
		if len(as) > 0 {
			fail("alerts while healthy: %+v", as)
		}
		checks++
		<-tick.C
	}
	tick.Stop()
	if checks < 10 {
		t.Fatalf("only %d alert checks in the healthy window", checks)
	}
	if n, err := query(prom, `vllm:kv_cache_usage_perc`); err != nil || n != 3 {
		fail("engine metrics not in Prometheus: %d series, %v", n, err)
	}

	phase(fmt.Sprintf("nothing pending or firing over %s of health (%d checks)", healthyFor, checks))
	// faults
	fault := func(port int, body string) {
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/sim/fault", port), "application/json", strings.NewReader(body))
		if err != nil {
			fail("fault %s: %v", body, err)
		}
		resp.Body.Close()
	}
	fault(profiles[0].port, `{"wedge":true}`)
	fault(profiles[1].port, `{"crash":true}`)
	// gamma: decode hangs; long prompts then hold the KV cache
	var cfg struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := getJSON(prom+"/api/v1/query?query="+urlQuery(`vllm:cache_config_info{profile="gamma"}`), &cfg); err != nil || len(cfg.Data.Result) != 1 {
		fail("gamma's cache_config_info: %v %+v", err, cfg)
	}
	kvTokens, err := strconv.Atoi(cfg.Data.Result[0].Metric["kv_cache_size_tokens"])
	if err != nil || kvTokens < 4096 {
		fail("gamma's KV cache size %q: %v", cfg.Data.Result[0].Metric["kv_cache_size_tokens"], err)
	}
	fault(profiles[2].port, `{"wedge":true}`)
	const promptTokens = 4000 // (16000 chars + 3) / 4 + 4 + 2 ≤ 4096 - 16
	need := (kvTokens*95/100 + promptTokens - 1) / promptTokens
	reqCtx, reqCancel := context.WithCancel(context.Background())
	defer reqCancel()
	long := strings.Repeat("word ", 15960/5)
	body := `{"model":"gamma","messages":[{"role":"user","content":"` + long + `"}],"max_tokens":16}`
	for i := 0; i < need; i++ {
		req, _ := http.NewRequestWithContext(reqCtx, "POST", fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", profiles[2].port), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		go func() {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}

	want := map[string]map[string]string{
		AlertEngineWedged: {"profile": "alpha", "state": "wedged"},
		AlertEngineDown:   {"profile": "beta", "job": EngineJob},
		AlertKVCacheFull:  {"profile": "gamma", "model": "gamma"},
	}
	fired := map[string]time.Duration{}
	began := time.Now()
	poll(t, 90*time.Second, "every fault's alert firing", func() (bool, string) {
		as, err := alerts(prom)
		if err != nil {
			return false, err.Error()
		}
		for name, labels := range want {
			for _, a := range as {
				if a.Labels["alertname"] != name || a.State != "firing" {
					continue
				}
				match := true
				for k, v := range labels {
					match = match && a.Labels[k] == v
				}
				if match {
					if _, ok := fired[name]; !ok {
						fired[name] = time.Since(began)
					}
				}
			}
		}
		return len(fired) == len(want), fmt.Sprintf("fired %v; alerts %+v", fired, as)
	})
	phase("every alert fired")
	for name, after := range fired {
		t.Logf("%s fired %.1fs after the fault", name, after.Seconds())
	}
	// the wedged engine was restarted by the watchdog, beta's was not
	if !strings.Contains(serveLog.String(), "to=wedged action=restart") {
		fail("the watchdog did not restart alpha")
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
