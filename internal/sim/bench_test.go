package sim

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/freeport"
)

// TestMain lets the benchmarks run the simulator as a child process (the test
// binary re-executed), so its memory can be read alone.
func TestMain(m *testing.M) {
	if os.Getenv("VLLM_SIM_CHILD") == "1" {
		args := strings.Split(os.Getenv("VLLM_SIM_ARGS"), " ")
		os.Exit(Main(context.Background(), args, map[string]string{}, io.Discard, os.Stderr))
	}
	os.Exit(m.Run())
}

func benchClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
}

// BenchmarkNonStreaming: completions per second with zero latency settings.
func BenchmarkNonStreaming(b *testing.B) {
	r := start(b, nil, append(fast, "--model", "m-1B", "--max-num-seqs", "256")...).ready(b)
	c := benchClient(64)
	body := []byte(`{"model":"m-1B","prompt":"hello","max_tokens":16}`)
	b.SetParallelism(16)
	b.ResetTimer()
	t0 := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Post(r.url+"/v1/completions", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "req/s")
}

// BenchmarkConcurrentStreams: 1,000 streams at once, each to [DONE].
func BenchmarkConcurrentStreams(b *testing.B) {
	r := start(b, nil, append(fast, "--model", "m-1B", "--max-num-seqs", "1024")...).ready(b)
	c := benchClient(1000)
	body := `{"model":"m-1B","prompt":"hello","max_tokens":16,"stream":true}`
	const n = 1000
	b.ResetTimer()
	for b.Loop() {
		var wg sync.WaitGroup
		var done atomic.Int64
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := c.Post(r.url+"/v1/completions", "application/json", strings.NewReader(body))
				if err != nil {
					return
				}
				defer resp.Body.Close()
				all, _ := io.ReadAll(resp.Body)
				if bytes.HasSuffix(all, []byte("data: [DONE]\n\n")) {
					done.Add(1)
				}
			}()
		}
		wg.Wait()
		if done.Load() != n {
			b.Fatalf("%d of %d streams completed", done.Load(), n)
		}
	}
	b.ReportMetric(n, "streams/op")
}

func rssKiB(pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	return 0
}

// BenchmarkIdleStreamMemory: resident memory of the simulator per open stream
// that waits for its next token (a wedged decode), measured on a child process.
func BenchmarkIdleStreamMemory(b *testing.B) {
	port := freeport.T(b)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VLLM_SIM_CHILD=1", "VLLM_SIM_ARGS="+strings.Join(append(fast, "--host", "127.0.0.1", "--port", fmt.Sprint(port), "--model", "m-1B", "--max-num-seqs", "2048", "--sim-wedge"), " "))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if resp, err := http.Get(url + "/health"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("child simulator not ready")
		}
	}
	c := benchClient(2000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 1000
	before := rssKiB(cmd.Process.Pid)
	var opened sync.WaitGroup
	for i := 0; i < n; i++ {
		opened.Add(1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/completions", strings.NewReader(`{"model":"m-1B","prompt":"x","max_tokens":16,"stream":true}`))
			resp, err := c.Do(req)
			if err != nil {
				opened.Done()
				return
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			_, _ = br.ReadString('\n') // the first token arrived; the stream now idles
			opened.Done()
			_, _ = io.Copy(io.Discard, br)
		}()
	}
	opened.Wait()
	after := rssKiB(cmd.Process.Pid)
	for b.Loop() {
	}
	b.ReportMetric(float64(after-before)*1024/n, "bytes/idle-stream")
}
