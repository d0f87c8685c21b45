package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportPrometheus: targets and labels from the profiles, the objective
// from x-vllmctl.slo, an unknown port named (never guessed), files that
// promtool accepts; export grafana writes both dashboards.
func TestExportPrometheus(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"configs/docker/profiles/fast.yml": `services:
  vllm-fast:
    image: vllm/vllm-openai:v0.11.0
    command: ["--model=Qwen/Qwen3-0.6B", "--served-model-name=fast-model", "--max-model-len=4096"]
    ports: ["127.0.0.1:5101:8000"]
    x-vllmctl: {slo: {ttft_p95: 1500ms}}
`,
		"configs/docker/profiles/lost.yml": `services:
  vllm-lost:
    image: vllm/vllm-openai:v0.11.0
    command: ["--model=Qwen/Qwen3-0.6B", "--max-model-len=4096"]
    ports: ["${LOST_PORT}:8000"]
`,
	}
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(root, "monitoring")
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"-C", root, "export", "prometheus", "-O", out, "--gateway", "127.0.0.1:8181", "--dashboards"}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "profile lost (service vllm-lost): not scraped: the host port is empty") {
		t.Errorf("the unknown port is not named on stderr:\n%s", stderr.String())
	}
	conf, err := os.ReadFile(filepath.Join(out, "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"- 127.0.0.1:5101", "model: fast-model", "profile: fast", "config_hash: ", "- 127.0.0.1:8181", "#   profile lost"} {
		if !strings.Contains(string(conf), s) {
			t.Errorf("prometheus.yml lacks %q:\n%s", s, conf)
		}
	}
	rules, err := os.ReadFile(filepath.Join(out, "vllmctl-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rules), `profile="fast"`) || !strings.Contains(string(rules), "> 1.5") {
		t.Errorf("no TTFT rule for fast's 1500ms objective:\n%s", rules)
	}
	for _, f := range []string{"vllmctl-engines.json", "vllmctl-gateway.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("--dashboards: %v", err)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not installed: run `make tools-prometheus` (Debian's prometheus package)")
	}
	if b, err := exec.Command(promtool, "check", "config", filepath.Join(out, "prometheus.yml")).CombinedOutput(); err != nil {
		t.Errorf("promtool check config: %v\n%s", err, b)
	}

	// a bad objective is named, and the rest is still written
	stdout.Reset()
	stderr.Reset()
	if err := os.WriteFile(filepath.Join(root, "configs/docker/profiles/fast.yml"), []byte(strings.Replace(files["configs/docker/profiles/fast.yml"], "1500ms", "soon", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := Main(context.Background(), []string{"-C", root, "export", "prometheus"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), `x-vllmctl.slo.ttft_p95 "soon" is not a positive duration`) || !strings.Contains(stdout.String(), "# ==> vllmctl-alerts.yml <==") {
		t.Errorf("bad objective: stderr %s\nstdout starts %.200s", stderr.String(), stdout.String())
	}
	if code := Main(context.Background(), []string{"-C", root, "export", "prometheus", "--prometheus-at", "moon"}, nil, &stdout, &stderr); code != ExitUsage {
		t.Errorf("--prometheus-at moon: exit %d, want 2", code)
	}

	stdout.Reset()
	if code := Main(context.Background(), []string{"export", "grafana"}, nil, &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), "# ==> vllmctl-engines.json <==") || !strings.Contains(stdout.String(), `"uid": "vllmctl-gateway"`) {
		t.Errorf("export grafana: exit %d\n%.300s", code, stdout.String())
	}
}

// TestExportComposeService: the project's own absolute folder, read-only, and
// its state folder read-write; a bad --publish is a usage error.
func TestExportComposeService(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "configs/docker/profiles"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "vllmctl.yaml"), []byte("project_name: lab\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"-C", root, "export", "compose-service", "--publish", "0.0.0.0:9090"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	abs := filepath.ToSlash(root)
	for _, s := range []string{"name: lab-vllmctl", abs + ":" + abs + ":ro", abs + "/.vllmctl:" + abs + "/.vllmctl\n", "- 0.0.0.0:9090\n", "http://127.0.0.1:9090/health", "network_mode: host", "restart: unless-stopped", "/var/run/docker.sock:/var/run/docker.sock"} {
		if !strings.Contains(stdout.String(), s) {
			t.Errorf("compose service lacks %q:\n%s", s, stdout.String())
		}
	}
	if code := Main(context.Background(), []string{"-C", root, "export", "compose-service", "--publish", "9090"}, nil, &stdout, &stderr); code != ExitUsage {
		t.Errorf("--publish 9090: exit %d, want 2", code)
	}
}
