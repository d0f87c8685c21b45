package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUpOutputContract: `up -o json` writes one JSON document on stdout (an
// entry per profile; progress goes to stderr), -o yaml is honoured, and a
// profile that fails does not stop the others: each is tried and reported,
// and the exit status is the first failure's.
func TestUpOutputContract(t *testing.T) {
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
	profile := func(name, model string, port int, extra string) string {
		return "services:\n  vllm-" + name + ":\n    image: vllm/vllm-openai:v0.11.0\n    ipc: host\n" +
			"    command: [\"--model\", \"" + model + "\", \"--max-model-len\", \"4096\"" + extra + "]\n" +
			"    ports: [\"" + itoa(port) + ":8000\"]\n    volumes: [\"hf:/root/.cache/huggingface\"]\n" +
			"    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: [\"0\"], capabilities: [gpu]}]}}}\nvolumes: {hf: {}}\n"
	}
	write("configs/docker/profiles/a.yml", profile("a", "Qwen/Qwen3-0.6B", 5000, ", \"--no-such-flag-at-all\""))
	write("configs/docker/profiles/b.yml", profile("b", "Qwen/Qwen3-0.6B", 5001, ""))
	write("vllmctl.yaml", "vllm_version: 0.11.0\ngpus: [{name: RTX 4090, count: 1}]\n")
	run := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := Main(t.Context(), append([]string{"-C", dir}, args...), strings.NewReader(""), &out, &errb)
		return out.String(), errb.String(), code
	}
	out, errOut, code := run("up", "a", "b", "--dry-run", "--runtime", "process", "-o", "json")
	if code == 0 {
		t.Fatalf("up of a broken profile exited 0\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
	var doc []map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document (%v):\n%s", err, out)
	}
	if len(doc) != 2 {
		t.Fatalf("the document has %d entries, want one per profile (a, b):\n%s", len(doc), out)
	}
	if !strings.Contains(errOut, "1 of 2 profile(s) failed: a") {
		t.Errorf("stderr does not report which profiles failed:\n%s", errOut)
	}
	out, _, _ = run("up", "b", "--dry-run", "--runtime", "process", "-o", "yaml")
	if !strings.Contains(out, "profile: b") || strings.HasPrefix(strings.TrimSpace(out), "[") {
		t.Errorf("-o yaml is not honoured:\n%s", out)
	}
}
