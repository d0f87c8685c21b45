package project

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Compose refuses a service that names an undeclared network, named volume,
// secret or config, or depends on an undefined service; vllmctl's load skips
// that check (to read partial files), so it reports them itself: an error,
// or a warning when a compose file beside it declares the name (one file of
// a `-f a -f b` set).
func TestUndefinedRefs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		t.Helper()
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := write("compose.yaml", `services:
  vllm:
    image: vllm/vllm-openai:v0.27.1
    command: ["--model", "Qwen/Qwen3-8B"]
    networks: [backend, front]
    depends_on: [db]
    secrets: [hf_token]
    volumes:
      - hf-cache:/root/.cache/huggingface
      - ./models:/models
      - declared:/data
networks:
  front: {}
volumes:
  declared: {}
`)
	write("docker-compose.db.yml", "services:\n  db:\n    image: postgres\n")
	p, err := Load(context.Background(), Options{Root: dir, Files: []string{f}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range p.Profiles[0].Diags {
		if d.Code == "compose-undefined" {
			got[d.Path] = string(d.Severity) + " " + d.Pos.String() + " " + d.Message
		}
	}
	want := map[string]string{
		"services.vllm.networks.0":   "error compose.yaml:5:16 service \"vllm\" refers to undefined network backend",
		"services.vllm.depends_on.0": "warning compose.yaml:6:18 service \"vllm\" refers to service db, which this file does not define but docker-compose.db.yml beside it does",
		"services.vllm.secrets.0":    "error compose.yaml:7:15 service \"vllm\" refers to undefined secret hf_token",
		"services.vllm.volumes.0":    "error compose.yaml:9:9 service \"vllm\" refers to undefined volume hf-cache",
	}
	if len(got) != len(want) {
		t.Errorf("got %d findings, want %d: %v", len(got), len(want), got)
	}
	for path, w := range want {
		if !strings.HasPrefix(got[path], w) {
			t.Errorf("%s: %q, want prefix %q", path, got[path], w)
		}
	}
}
