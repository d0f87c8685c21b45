package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/freeport"
	"github.com/vllmctl/vllmctl/internal/sim"
)

// benchProject writes a project with profiles served by in-process vllm-sim
// engines (one per name, each with its --sim-* args) and returns its folder.
func benchProject(t *testing.T, engines map[string][]string) string {
	t.Helper()
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
	for name, simArgs := range engines {
		port := freeport.T(t)
		write("configs/docker/profiles/"+name+".yml", fmt.Sprintf(`services:
  vllm-%s:
    image: vllm/vllm-openai:v0.11.0
    ipc: host
    command: ["--model", "Qwen/Qwen3-0.6B", "--served-model-name", "%s", "--max-model-len", "4096", "--api-key", "${VLLM_API_KEY}"]
    ports: ["%d:8000"]
    volumes: ["hf:/root/.cache/huggingface"]
    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ["0"], capabilities: [gpu]}]}}}
volumes: {hf: {}}
`, name, name, port))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		args := append([]string{"--model", "Qwen/Qwen3-0.6B", "--served-model-name", name, "--api-key", "sk-bench-secret", "--host", "127.0.0.1", "--port", fmt.Sprint(port),
			"--sim-phase-time=0", "--sim-load-time=0", "--sim-compile-time=0", "--sim-graph-time=0", "--disable-uvicorn-access-log", "--sim-version", "0.11.0"}, simArgs...)
		go func() { done <- sim.Main(ctx, args, map[string]string{}, io.Discard, io.Discard) }()
		t.Cleanup(func() { cancel(); <-done })
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("vllm-sim for %s did not answer: %v", name, err)
			}
			goruntime.Gosched() // poll: yield, then ask again
		}
	}
	write(".env", "VLLM_API_KEY=sk-bench-secret\n")
	write("vllmctl.yaml", "gpus: [{name: RTX 4090, count: 1}]\n")
	return dir
}

func runIn(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(t.Context(), append([]string{"-C", dir}, args...), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func TestBenchStoresListsShows(t *testing.T) {
	dir := benchProject(t, map[string][]string{"m": {"--sim-ttft=5ms", "--sim-itl=2ms"}})
	out, errOut, code := runIn(t, dir, "bench", "m", "--concurrency", "1,2", "--duration", "400ms", "--output-tokens", "8")
	if code != 0 {
		t.Fatalf("bench exited %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"profile m, model m via port ", "deploy unknown, config unknown, vLLM 0.11.0, GPUs 0: RTX 4090", "declared in vllmctl.yaml", "CONC  REQ/S", "stored ", ".svg"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "c=2    [####################]") {
		t.Errorf("no progress bar on stderr:\n%s", errOut)
	}
	if strings.Contains(out+errOut, "sk-bench-secret") {
		t.Error("the API key was printed")
	}
	files, _ := filepath.Glob(filepath.Join(dir, ".vllmctl", "bench", "*-m.*"))
	if len(files) != 2 {
		t.Fatalf("stored files = %v, want the JSON and the SVG", files)
	}
	b, _ := os.ReadFile(files[0])
	if strings.Contains(string(b), "sk-bench-secret") {
		t.Error("the stored result holds the API key")
	}
	id := strings.TrimSuffix(filepath.Base(files[0]), ".json")
	out, _, code = runIn(t, dir, "bench", "list", "-o", "json")
	var list []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0]["id"] != id || list[0]["deploy_id"] != "unknown" {
		t.Fatalf("bench list -o json (exit %d):\n%s", code, out)
	}
	out, _, code = runIn(t, dir, "bench", "show", id[:10], "--svg", filepath.Join(dir, "p.svg"))
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "(latencies in ms)") {
		t.Fatalf("bench show (exit %d):\n%s", code, out)
	}
	if svg, err := os.ReadFile(filepath.Join(dir, "p.svg")); err != nil || !bytes.Contains(svg, []byte("<polyline")) {
		t.Errorf("bench show --svg: %v", err)
	}
	_, errOut, code = runIn(t, dir, "bench", "show", "nope")
	if code != 2 || !strings.Contains(errOut, "no such benchmark") {
		t.Errorf("bench show of an unknown id: exit %d, %s", code, errOut)
	}
	_, errOut, code = runIn(t, dir, "bench", "m", "--concurrency", "0")
	if code != 2 || !strings.Contains(errOut, "positive worker counts") {
		t.Errorf("bench --concurrency 0: exit %d, %s", code, errOut)
	}
}

func TestBenchCompareAndProbes(t *testing.T) {
	dir := benchProject(t, map[string][]string{"live": {"--sim-ttft=5ms", "--sim-itl=2ms"}, "next": {"--sim-ttft=5ms", "--sim-itl=2ms", "--sim-crash-after-requests=1", "--sim-death-exit=1h"}})
	probes := filepath.Join(dir, "probes.jsonl")
	var lines []string
	for i := range 12 {
		lines = append(lines, fmt.Sprintf(`{"id": "p%d", "prompt": "hello %d", "expect_regex": "[a-z]"}`, i, i))
	}
	if err := os.WriteFile(probes, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, prof := range []string{"live", "next"} {
		out, errOut, code := runIn(t, dir, "bench", prof, "--concurrency", "2", "--duration", "300ms", "--output-tokens", "8", "--probe", probes, "-o", "json")
		var r map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
			t.Fatalf("bench %s (exit %d):\n%s\n%s", prof, code, out, errOut)
		}
		ids = append(ids, r["id"].(string))
	}
	out, errOut, code := runIn(t, dir, "bench", "compare", ids[0], ids[1], "--fail-on-worse")
	if code != 1 {
		t.Fatalf("compare --fail-on-worse of a run whose engine died: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"A " + ids[0], "METRIC", "output tokens/s (tok/s)", "error rate (%)", "probes: A 100 % passed, B 0 % (12 paired; passed on A only 12, on B only 0; McNemar p = 0.0005): worse", "regression p0: HTTP 500"} {
		if !strings.Contains(out, want) {
			t.Errorf("compare output lacks %q:\n%s", want, out)
		}
	}
	out, _, code = runIn(t, dir, "bench", "compare", ids[0], ids[0], "-o", "json")
	var c map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &c) != nil || c["probes"].(map[string]any)["verdict"] != "no significant difference" {
		t.Errorf("compare of a run with itself (exit %d):\n%s", code, out)
	}
}
