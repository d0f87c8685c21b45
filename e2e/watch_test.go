package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const watchProfile = `services:
  vllm-a:
    image: vllm/vllm-openai:v0.11.0
    ipc: host
    command: ["--model=Qwen/Qwen3-0.6B", "--served-model-name=tiny", "--api-key=${KEY_A}", "--max-model-len=4096", "--gpu-memory-utilization=0.5", "--enforce-eager"]
    ports: ["%d:8000"]
    volumes: ["hf:/root/.cache/huggingface"]
    environment:
      VLLM_SIM_ARGS: "%s"
    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ["0"], capabilities: [gpu]}]}}}
    x-vllmctl:
      watchdog: {interval: 300ms, warmup: 1ms, completion_deadline: 1s, wedge_after: 1, hung_after: 2}
volumes: {hf: {}}
`

// TestWatchdogStatesOnSimulatorFaults drives the watchdog with the
// simulator's fault injection on the process runtime: a crashed engine is
// "down"; a refused port after being healthy becomes "hung" and is restarted.
func TestWatchdogStatesOnSimulatorFaults(t *testing.T) {
	v := variants[2]
	t.Run("down after an engine crash", func(t *testing.T) {
		p := newProject(t, v, goodArgs, "", "")
		p.write("configs/docker/profiles/a.yml", fmt.Sprintf(watchProfile, p.port, "--sim-crash-after-requests 2 --sim-death-exit 50ms"))
		p.must(0, "up", "a")
		p.run("chat", "a") // the second request kills the engine core
		deadline := time.Now().Add(20 * time.Second)
		for {
			out, _ := p.run("watch", "--once", "--runtime", "process")
			if strings.Contains(out, "down") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("watch never said down:\n%s", out)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	t.Run("hung when the port stops answering, then restarted", func(t *testing.T) {
		p := newProject(t, v, goodArgs, "", "")
		p.write("configs/docker/profiles/a.yml", fmt.Sprintf(watchProfile, p.port, ""))
		p.must(0, "up", "a")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cmd := exec.CommandContext(ctx, vllmctl, "-C", p.dir, "watch", "--runtime", "process", "--simulate", "--sim-binary", simBin)
		cmd.Env = append(os.Environ(), "VLLMCTL_NO_NVIDIA_SMI=1")
		logs := &syncBuf{}
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cancel(); _ = cmd.Wait() }()
		waitFor := func(what string) {
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(logs.String(), what) {
				if time.Now().After(deadline) {
					t.Fatalf("no %q:\n%s", what, logs.String())
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		waitFor("to=healthy")
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/sim/fault", p.port), "application/json", strings.NewReader(`{"refuse_for":"1m"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		waitFor("to=hung action=restart")
		out := p.must(0, "status", "a")
		contains(t, out, "running")
	})
}
