package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/freeport"
)

// syncBuf is a buffer the child process and the test may use at once.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const wdProfile = `services:
  vllm-%[1]s:
    image: vllm/vllm-openai:v0.11.0
    ipc: host
    command: ["--model=Qwen/Qwen3-0.6B", "--served-model-name=%[1]s-model", "--api-key=${KEY_A}", "--max-model-len=4096", "--gpu-memory-utilization=0.4", "--enforce-eager"]
    ports: ["%[2]d:8000"]
    volumes: ["hf:/root/.cache/huggingface"]
    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ["%[3]d"], capabilities: [gpu]}]}}}
    x-vllmctl:
      aliases: [%[1]s]
      watchdog: {interval: 500ms, warmup: 1s, completion_deadline: 500ms, wedge_after: 2, hung_after: 2}
volumes: {hf: {}}
`

// TestServeWatchdogRestartsWedged: two profiles behind serve; one wedges
// (health 200, decode hung); the watchdog restarts it while every request to
// the other profile keeps succeeding.
func TestServeWatchdogRestartsWedged(t *testing.T) {
	for _, v := range []variant{variants[1], variants[2]} { // docker (compose v2) and process
		t.Run(v.name, func(t *testing.T) {
			if setup != nil {
				t.Fatal(setup)
			}
			noRace(t)
			p := &proj{t: t, dir: t.TempDir(), v: v, name: fmt.Sprintf("wd%d", time.Now().UnixNano()%1e9)}
			portA, portB, gw := freeport.T(t), freeport.T(t), freeport.T(t)
			p.write("configs/docker/profiles/a.yml", fmt.Sprintf(wdProfile, "a", portA, 0))
			p.write("configs/docker/profiles/b.yml", fmt.Sprintf(wdProfile, "b", portB, 1))
			p.write(".env", "KEY_A=e2e-secret-key-4242\n")
			p.write("vllmctl.yaml", "project_name: "+p.name+"\ngpus: [{name: RTX 4090, count: 2}]\n")
			t.Cleanup(func() { p.run("down") })
			p.must(0, "up", "a", "b")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			args := append([]string{"-C", p.dir, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", gw), "--refresh", "300ms", "--simulate", "--sim-binary", simBin}, v.args...)
			cmd := exec.CommandContext(ctx, vllmctl, args...)
			cmd.Env = append(os.Environ(), "VLLMCTL_NO_NVIDIA_SMI=1")
			logs := &syncBuf{}
			cmd.Stdout, cmd.Stderr = logs, logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cancel(); _ = cmd.Wait() }()
			base := fmt.Sprintf("http://127.0.0.1:%d", gw)
			ask := func(model string) (int, error) {
				resp, err := http.Post(base+"/v1/chat/completions", "application/json",
					strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}],"max_tokens":2}`))
				if err != nil {
					return 0, err
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode, nil
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				if c, err := ask("a"); err == nil && c == 200 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("gateway never routed to a:\n%s", logs.String())
				}
				time.Sleep(100 * time.Millisecond)
			}
			// Keep asking b through the whole episode: none may fail.
			var okB, failB atomic.Int64
			stop := make(chan struct{})
			go func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if c, err := ask("b"); err == nil && c == 200 {
						okB.Add(1)
					} else {
						failB.Add(1)
					}
				}
			}()
			// Wedge a: health stays 200, decode hangs.
			resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/sim/fault", portA), "application/json", strings.NewReader(`{"wedge":true}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			deadline = time.Now().Add(60 * time.Second)
			for !strings.Contains(logs.String(), "to=wedged action=restart") {
				if time.Now().After(deadline) {
					close(stop)
					t.Fatalf("no watchdog restart:\n%s", logs.String())
				}
				time.Sleep(100 * time.Millisecond)
			}
			// After the restart a answers again.
			deadline = time.Now().Add(60 * time.Second)
			for {
				c, err := ask("a")
				if err == nil && c == 200 {
					break
				}
				if time.Now().After(deadline) {
					close(stop)
					t.Fatalf("a did not come back:\n%s", logs.String())
				}
				time.Sleep(200 * time.Millisecond)
			}
			close(stop)
			if failB.Load() != 0 || okB.Load() == 0 {
				t.Fatalf("requests to b: %d ok, %d failed", okB.Load(), failB.Load())
			}
			out := p.must(0, "history", "a")
			if !strings.Contains(out, "ready") {
				t.Errorf("history: %s", out)
			}
			hist, _ := os.ReadFile(p.dir + "/.vllmctl/history.json")
			if !strings.Contains(string(hist), `"trigger": "watchdog: a 4-token completion missed`) {
				t.Errorf("the restart is not in the history:\n%s", hist)
			}
		})
	}
}
