//go:build e2e

package observability

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/freeport"
)

// TestComposeServiceRestartsWedged runs `vllmctl serve` the way
// `vllmctl export compose-service` writes it, from the vllmctl:dev image
// (make image), on this machine's Docker Engine, beside one engine deployed
// with `vllmctl up --simulate --runtime docker` (vllm-sim:dev, make
// sim-image): the service turns healthy, routes to the engine, and its
// watchdog restarts the engine once it is wedged (a new container answers).
func TestComposeServiceRestartsWedged(t *testing.T) {
	for _, tool := range []string{"docker"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: this test needs a Docker Engine", tool)
		}
	}
	for _, img := range []string{"vllmctl:dev", "vllm-sim:dev"} {
		if out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", img).CombinedOutput(); err != nil {
			t.Fatalf("image %s is missing: run `make image sim-image` (make e2e-compose-service does): %s", img, out)
		}
	}
	bin := os.Getenv("VLLMCTL_E2E_BIN")
	if bin == "" {
		bin = t.TempDir()
		goBuild(t, filepath.Join(bin, "vllmctl"), "github.com/vllmctl/vllmctl/cmd/vllmctl")
	}
	vllmctl := filepath.Join(bin, "vllmctl")
	dir := t.TempDir()
	name := fmt.Sprintf("cs%d", time.Now().UnixNano()%1e9)
	port, gw := freeport.T(t), freeport.T(t)
	files := map[string]string{
		"vllmctl.yaml": "project_name: " + name + "\ngpus: [{name: RTX 4090, count: 1}]\n",
		"configs/docker/profiles/a.yml": fmt.Sprintf(`services:
  vllm-a:
    image: vllm/vllm-openai:v0.11.0
    ipc: host
    command: ["--model=Qwen/Qwen3-0.6B", "--served-model-name=a", "--max-model-len=4096", "--gpu-memory-utilization=0.4", "--enforce-eager"]
    ports: ["%d:8000"]
    volumes: ["hf:/root/.cache/huggingface"]
    environment:
      VLLM_SIM_ARGS: "--sim-phase-time 5ms --sim-load-time 20ms"
    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ["0"], capabilities: [gpu]}]}}}
    x-vllmctl:
      watchdog: {interval: 500ms, warmup: 1s, completion_deadline: 500ms, wedge_after: 2, hung_after: 2}
volumes: {hf: {}}
`, port),
	}
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "VLLMCTL_NO_NVIDIA_SMI=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	compose := filepath.Join(dir, ComposeServiceFile)
	t.Cleanup(func() {
		for _, c := range [][]string{{"docker", "compose", "-f", compose, "down"}, {vllmctl, "-C", dir, "down", "--runtime", "docker"}} {
			cmd := exec.Command(c[0], c[1:]...)
			cmd.Env = append(os.Environ(), "VLLMCTL_NO_NVIDIA_SMI=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Logf("cleanup %v: %v\n%s", c, err, out)
			}
		}
	})
	run(vllmctl, "-C", dir, "up", "a", "--simulate", "--runtime", "docker", "--compose", "v2", "--progress", "plain")
	engine := func() string {
		return strings.TrimSpace(run("docker", "ps", "--filter", "label=dev.vllmctl.project="+name, "--filter", "label=dev.vllmctl.profile=a", "--format", "{{.ID}}"))
	}
	before := engine()
	if before == "" {
		t.Fatal("no engine container after up")
	}
	run(vllmctl, "-C", dir, "export", "compose-service", "-O", dir, "--publish", fmt.Sprintf("127.0.0.1:%d", gw))
	run("docker", "compose", "-f", compose, "up", "-d")
	container := name + "-vllmctl-vllmctl-1"
	logs := func() string {
		out, _ := exec.Command("docker", "logs", container).CombinedOutput()
		return string(out)
	}
	poll(t, 90*time.Second, "the service healthy and the engine answering through it", func() (bool, string) {
		health := strings.TrimSpace(run("docker", "inspect", "--format", "{{.State.Health.Status}}", container))
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", gw), "application/json",
			strings.NewReader(`{"model":"a","messages":[{"role":"user","content":"hi"}],"max_tokens":2}`))
		code := 0
		if err == nil {
			code = resp.StatusCode
			resp.Body.Close()
		}
		return health == "healthy" && code == 200, fmt.Sprintf("health %s, chat %d %v\n%s", health, code, err, lastLines(logs(), 10))
	})
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/sim/fault", port), "application/json", strings.NewReader(`{"wedge":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	poll(t, 90*time.Second, "the containerised watchdog restarting the wedged engine", func() (bool, string) {
		l := logs()
		now := engine()
		return strings.Contains(l, "to=wedged action=restart") && now != "" && now != before, fmt.Sprintf("engine %q (was %q)\n%s", now, before, lastLines(l, 10))
	})
	poll(t, 60*time.Second, "the restarted engine answering through the gateway", func() (bool, string) {
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", gw), "application/json",
			strings.NewReader(`{"model":"a","messages":[{"role":"user","content":"hi"}],"max_tokens":2}`))
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
}
