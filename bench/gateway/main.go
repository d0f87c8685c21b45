// Command gateway measures `vllmctl serve`'s gateway against vllm-sim with zero
// latency, beside (a) direct requests to the engine and (b) a minimal
// httputil.ReverseProxy that reads the model field, in one run on one machine.
// It prints a Markdown table for BENCHMARKS.md and exits 1 when a target is missed.
//
//	go run ./bench/gateway [-duration 5s] [-conns 16]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vllmctl/vllmctl/internal/freeport"
	"github.com/vllmctl/vllmctl/internal/gateway"
	"github.com/vllmctl/vllmctl/internal/sim"
)

type routes struct{ t gateway.Table }

func (r routes) Table() gateway.Table { return r.t }

func mustPort() int {
	p, err := freeport.Pick()
	if err != nil {
		panic(err)
	}
	return p
}

func startSim(ctx context.Context, extra ...string) string {
	port := mustPort()
	args := append([]string{"--model", "m-1B", "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--disable-uvicorn-access-log", "--max-num-seqs", "4096",
		"--sim-phase-time=0", "--sim-load-time=0", "--sim-compile-time=0", "--sim-graph-time=0", "--sim-ttft=0", "--sim-itl=0", "--sim-prefill-per-token=0"}, extra...)
	go sim.Main(ctx, args, map[string]string{}, io.Discard, io.Discard)
	u := fmt.Sprintf("http://127.0.0.1:%d", port)
	for {
		if resp, err := http.Get(u + "/health"); err == nil {
			resp.Body.Close()
			return u
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func serve(h http.Handler) string {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go http.Serve(ln, h)
	return "http://" + ln.Addr().String()
}

// minimalProxy is the baseline: read the body, peek the model, ReverseProxy.
func minimalProxy(engine string) http.Handler {
	target, _ := url.Parse(engine)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 256}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m struct {
			Model string `json:"model"`
		}
		_ = json.Unmarshal(body, &m)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		rp.ServeHTTP(w, r)
	})
}

var body = []byte(`{"model":"m-1B","prompt":"hello","max_tokens":16}`)
var streamBody = []byte(`{"model":"m-1B","prompt":"hello","max_tokens":16,"stream":true}`)

func throughput(base string, conns int, d time.Duration) float64 {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	var n atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				resp, err := c.Post(base+"/v1/completions", "application/json", bytes.NewReader(body))
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

func median(xs []time.Duration) time.Duration {
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	return xs[len(xs)/2]
}

// latency: one request in flight, median of n.
func latency(base string, n int) time.Duration {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	var xs []time.Duration
	for i := 0; i < n; i++ {
		t0 := time.Now()
		resp, err := c.Post(base+"/v1/completions", "application/json", bytes.NewReader(body))
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		xs = append(xs, time.Since(t0))
	}
	return median(xs)
}

// ttfb: time to the first streamed data line, median of n.
func ttfb(base string, n int) time.Duration {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	var xs []time.Duration
	for i := 0; i < n; i++ {
		t0 := time.Now()
		resp, err := c.Post(base+"/v1/completions", "application/json", bytes.NewReader(streamBody))
		if err != nil {
			continue
		}
		br := bufio.NewReader(resp.Body)
		line, _ := br.ReadString('\n')
		if strings.HasPrefix(line, "data:") {
			xs = append(xs, time.Since(t0))
		}
		_, _ = io.Copy(io.Discard, br)
		resp.Body.Close()
	}
	return median(xs)
}

func rssKiB(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	return 0
}

// childGateway runs the gateway alone in this binary (re-executed) so its memory can be read.
func childGateway(engine string, port int) {
	g := gateway.New(routes{t: gateway.Table{"m-1B": {{Profile: "p", BaseURL: engine, Ready: true}}}}, gateway.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		os.Exit(1)
	}
	_ = http.Serve(ln, g.Handler())
}

func idleStreamMemory(engine string, n int) float64 {
	port := mustPort()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "GATEWAY_CHILD_ENGINE="+engine, "GATEWAY_CHILD_PORT="+strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		return -1
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for {
		if resp, err := http.Get(base + "/health"); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := rssKiB(cmd.Process.Pid)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n + 10}}
	var opened sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 0; i < n; i++ {
		opened.Add(1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/completions", bytes.NewReader(streamBody))
			resp, err := c.Do(req)
			if err != nil {
				opened.Done()
				return
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			_, _ = br.ReadString('\n')
			opened.Done()
			_, _ = io.Copy(io.Discard, br)
		}()
	}
	opened.Wait()
	time.Sleep(500 * time.Millisecond) // let the child settle before reading its RSS
	after := rssKiB(cmd.Process.Pid)
	return float64(after-before) * 1024 / float64(n)
}

func main() {
	if e := os.Getenv("GATEWAY_CHILD_ENGINE"); e != "" {
		p, _ := strconv.Atoi(os.Getenv("GATEWAY_CHILD_PORT"))
		childGateway(e, p)
		return
	}
	dur := flag.Duration("duration", 5*time.Second, "load duration per target")
	conns := flag.Int("conns", 16, "concurrent clients for the throughput run")
	memOnly := flag.Int("mem-only", 0, "only measure idle-stream memory with this many streams")
	flag.Parse()
	ctx := context.Background()
	engine := startSim(ctx)
	wedged := startSim(ctx, "--sim-wedge")
	if *memOnly > 0 {
		fmt.Printf("%.1f KiB per idle stream\n", idleStreamMemory(wedged, *memOnly)/1024)
		return
	}
	proxy := serve(minimalProxy(engine))
	gw := serve(gateway.New(routes{t: gateway.Table{"m-1B": {{Profile: "p", BaseURL: engine, Ready: true}}}}, gateway.Options{}).Handler())
	targets := []struct{ name, url string }{{"(a) direct to vllm-sim", engine}, {"(b) minimal httputil.ReverseProxy", proxy}, {"(c) vllmctl serve gateway", gw}}
	rps := map[string]float64{}
	lat := map[string]time.Duration{}
	tt := map[string]time.Duration{}
	for _, t := range targets {
		_ = throughput(t.url, *conns, time.Second) // warm up
		rps[t.name] = throughput(t.url, *conns, *dur)
		fmt.Fprintf(os.Stderr, "%s: %.0f req/s\n", t.name, rps[t.name])
		lat[t.name] = latency(t.url, 2000)
		tt[t.name] = ttfb(t.url, 1000)
		fmt.Fprintf(os.Stderr, "%s: latency %s ttfb %s\n", t.name, lat[t.name], tt[t.name])
	}
	mem := idleStreamMemory(wedged, 1000)
	a, b, c := targets[0].name, targets[1].name, targets[2].name
	fmt.Printf("| target | non-streaming req/s (%d clients) | median latency, 1 in flight | median time to first streamed byte |\n|---|---|---|---|\n", *conns)
	for _, t := range targets {
		fmt.Printf("| %s | %.0f | %s | %s |\n", t.name, rps[t.name], lat[t.name].Round(time.Microsecond), tt[t.name].Round(time.Microsecond))
	}
	addedB, addedC := lat[b]-lat[a], lat[c]-lat[a]
	ttfbC := tt[c] - tt[a]
	ratio := rps[c] / rps[b]
	fmt.Printf("\n- (c) sustains **%.0f%%** of (b)'s requests/s (target ≥ 90%%)\n", 100*ratio)
	fmt.Printf("- added median latency at 1 in flight: (b) %s, (c) %s = **%.2f×** (b)'s (target ≤ 1.2×)\n", addedB.Round(time.Microsecond), addedC.Round(time.Microsecond), float64(addedC)/float64(max(addedB, 1)))
	fmt.Printf("- added time to first streamed byte, (c) over (a): **%s** (target ≤ 0.3 ms)\n", ttfbC.Round(time.Microsecond))
	fmt.Printf("- gateway memory per idle open stream (child process RSS over 1,000 parked streams): **%.1f KiB** (target ≤ 64 KiB)\n", mem/1024)
	ok := ratio >= 0.9 && float64(addedC) <= 1.2*float64(max(addedB, 1)) && ttfbC <= 300*time.Microsecond && mem <= 64*1024
	if !ok {
		fmt.Println("\nat least one target missed")
		os.Exit(1)
	}
}
