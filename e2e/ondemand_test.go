package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/freeport"
)

const groupProfile = `services:
  vllm-%[1]s:
    image: vllm/vllm-openai:v0.11.0
    ipc: host
    command: ["--model=Qwen/Qwen3-0.6B", "--served-model-name=%[1]s-model", "--api-key=${KEY_A}", "--max-model-len=4096", "--gpu-memory-utilization=0.5", "--enforce-eager"]
    ports: ["%[2]d:8000"]
    volumes: ["hf:/root/.cache/huggingface"]
    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ["0"], capabilities: [gpu]}]}}}
    x-vllmctl: {aliases: [%[1]s], group: swap, on_demand: %[3]v}
volumes: {hf: {}}
`

// TestOnDemandEvictsGroup: b is on demand and shares GPU 0 with a in the same
// swap group; the first request for b stops a, starts b, and is answered.
func TestOnDemandEvictsGroup(t *testing.T) {
	if setup != nil {
		t.Fatal(setup)
	}
	v := variants[2]
	noRace(t)
	p := &proj{t: t, dir: t.TempDir(), v: v, name: fmt.Sprintf("od%d", time.Now().UnixNano()%1e9)}
	portA, portB, gw := freeport.T(t), freeport.T(t), freeport.T(t)
	p.write("configs/docker/profiles/a.yml", fmt.Sprintf(groupProfile, "a", portA, false))
	p.write("configs/docker/profiles/b.yml", fmt.Sprintf(groupProfile, "b", portB, true))
	p.write(".env", "KEY_A=e2e-secret-key-4242\n")
	p.write("vllmctl.yaml", "project_name: "+p.name+"\ngpus: [{name: RTX 4090, count: 1}]\n")
	t.Cleanup(func() { p.run("down") })
	p.must(0, "up", "a")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, vllmctl, "-C", p.dir, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", gw), "--no-watchdog",
		"--runtime", "process", "--simulate", "--sim-binary", simBin)
	cmd.Env = append(os.Environ(), "VLLMCTL_NO_NVIDIA_SMI=1")
	logs := &syncBuf{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	base := fmt.Sprintf("http://127.0.0.1:%d", gw)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "serving") {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Post(base+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"b","messages":[{"role":"user","content":"hi"}],"max_tokens":2}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Vllmctl-Profile") != "b" {
		t.Fatalf("first request for b: %d %s\n%s", resp.StatusCode, body, logs.String())
	}
	if !strings.Contains(logs.String(), `msg="evicting for on-demand start" profile=a for=b`) {
		t.Errorf("a was not evicted:\n%s", logs.String())
	}
	out := p.must(0, "status", "a")
	contains(t, out, "not deployed")
	hist, _ := os.ReadFile(p.dir + "/.vllmctl/history.json")
	if !strings.Contains(string(hist), `"trigger": "on-demand: first request for b"`) {
		t.Errorf("history lacks the on-demand start:\n%s", hist)
	}
}
