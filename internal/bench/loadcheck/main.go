// Command loadcheck shows that vllmctl bench's load generator is not the
// bottleneck: against one vllm-sim process it measures, side by side in one
// run, (1) the request rate of bench.Run and of wrk (the Debian package) at
// the same concurrency with the same streaming request, and (2) the latency
// the generator's measurement adds: bench's end-to-end latency of sequential
// requests against a bare net/http client that only reads the body, requests
// interleaved. It prints a Markdown table for BENCHMARKS.md and exits 1 when
// the rate is not within 10 % of wrk's or the added latency is 50 µs or more.
//
//	make build && go run ./internal/bench/loadcheck [-sim bin/vllm-sim] [-duration 5s] [-conns 16]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/vllmctl/vllmctl/internal/bench"
)

func main() {
	simBin := flag.String("sim", "bin/vllm-sim", "the vllm-sim binary")
	duration := flag.Duration("duration", 5*time.Second, "each rate measurement")
	conns := flag.Int("conns", 16, "concurrency of both generators")
	seq := flag.Int("sequential", 2000, "sequential requests for the added latency")
	flag.Parse()
	if _, err := exec.LookPath("wrk"); err != nil {
		fmt.Fprintln(os.Stderr, "loadcheck: wrk is not installed (apt-get install -y wrk)")
		os.Exit(2)
	}
	ok := true
	fmt.Println("| vllm-sim latency model | concurrency | wrk req/s | vllmctl bench req/s | ratio |")
	fmt.Println("|---|---|---|---|---|")
	for _, sc := range []struct {
		name string
		args []string
		c    int
	}{
		{"zero (--sim-ttft=0 --sim-itl=0)", []string{"--sim-ttft=0", "--sim-itl=0"}, *conns},
		{"TTFT 20 ms, ITL 5 ms", []string{"--sim-ttft=20ms", "--sim-itl=5ms"}, 64},
	} {
		url, stop := startSim(*simBin, sc.args...)
		body := requestBody()
		w := wrkRate(url, body, sc.c, *duration)
		b := benchRate(url, sc.c, *duration)
		stop()
		ratio := b / w
		ok = ok && ratio >= 0.9
		fmt.Printf("| %s | %d | %.0f | %.0f | %.2f |\n", sc.name, sc.c, w, b, ratio)
	}
	url, stop := startSim(*simBin, "--sim-ttft=0", "--sim-itl=0")
	defer stop()
	bare, ours := addedLatency(url, *seq)
	added := ours - bare
	ok = ok && added < 50*time.Microsecond
	fmt.Printf("\nsequential requests (%d each, interleaved), median end-to-end latency: bare client %s, vllmctl bench %s: **added %s** (target < 50 µs)\n",
		*seq, bare.Round(time.Microsecond), ours.Round(time.Microsecond), added.Round(time.Microsecond))
	if !ok {
		os.Exit(1)
	}
}

const model = "sim-model"

// requestBody is the request both generators send: streamed, 16 tokens.
func requestBody() []byte {
	b, _ := json.Marshal(map[string]any{"model": model, "stream": true, "stream_options": map[string]any{"include_usage": true}, "max_tokens": 16, "ignore_eos": true, "temperature": 0,
		"messages": []map[string]string{{"role": "user", "content": prompt}}})
	return b
}

const prompt = "time person year way day thing man world life hand part child eye woman place work"

// sameLoad makes bench send exactly requestBody.
func sameLoad(o *bench.Options) {
	o.Dataset = []bench.Prompt{{Prompt: prompt, MaxTokens: 16}}
}

func startSim(bin string, extra ...string) (string, func()) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	args := append([]string{"--model", model, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--disable-uvicorn-access-log", "--max-num-seqs", "1024",
		"--sim-phase-time=0", "--sim-load-time=0", "--sim-compile-time=0", "--sim-graph-time=0", "--sim-prefill-per-token=0"}, extra...)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "loadcheck: %v (build it with make build, or pass -sim)\n", err)
		os.Exit(2)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := http.Get(url + "/health"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "loadcheck: vllm-sim did not start")
			os.Exit(2)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return url, func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
}

var wrkRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

func wrkRate(url string, body []byte, c int, d time.Duration) float64 {
	script, _ := os.CreateTemp("", "loadcheck-*.lua")
	defer os.Remove(script.Name())
	fmt.Fprintf(script, "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = %q\n", body)
	script.Close()
	threads := min(c, 2)
	out, err := exec.Command("wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(c), "-d", fmt.Sprintf("%ds", int(d.Seconds())), "-s", script.Name(), url+"/v1/chat/completions").CombinedOutput()
	m := wrkRPS.FindSubmatch(out)
	if err != nil || m == nil || bytes.Contains(out, []byte("Non-2xx")) {
		fmt.Fprintf(os.Stderr, "loadcheck: wrk: %v\n%s", err, out)
		os.Exit(2)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

func benchRate(url string, c int, d time.Duration) float64 {
	o := bench.DefaultOptions()
	o.Concurrency, o.Duration = []int{c}, d
	sameLoad(&o)
	levels, err := bench.Run(context.Background(), bench.Target{BaseURL: url, Model: model}, o)
	if err != nil || levels[0].Errors > 0 {
		fmt.Fprintf(os.Stderr, "loadcheck: bench: %v %v\n", err, levels)
		os.Exit(2)
	}
	return levels[0].RequestsPerS
}

// addedLatency returns the median latency of n sequential requests timed by
// a bare client (POST, read the body to the end) and by bench (one
// concurrency-1 level of n requests' worth), interleaved in rounds.
func addedLatency(url string, n int) (bare, ours time.Duration) {
	body := requestBody()
	client := bench.NewClient(1)
	var b, o []float64
	for round := 0; round < 10; round++ {
		for i := 0; i < n/10; i++ {
			t0 := time.Now()
			resp, err := client.Post(url+"/v1/chat/completions", "application/json", bytes.NewReader(body))
			if err != nil {
				panic(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			b = append(b, time.Since(t0).Seconds())
		}
		opts := bench.DefaultOptions()
		opts.Concurrency = []int{1}
		sameLoad(&opts)
		opts.Duration = time.Duration(float64(n/10) * median(b[len(b)-n/10:]) * float64(time.Second))
		levels, err := bench.Run(context.Background(), bench.Target{BaseURL: url, Model: model, Client: client}, opts)
		if err != nil {
			panic(err)
		}
		for _, s := range levels[0].Samples {
			o = append(o, s.E2E)
		}
	}
	return time.Duration(median(b) * float64(time.Second)), time.Duration(median(o) * float64(time.Second))
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
