package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/project"
)

// One compose file whose engines sit behind compose profiles, run one at a
// time (both on port 5010), beside a web UI that always runs.
const gatedYAML = `services:
  small:
    image: vllm/vllm-openai:v0.11.0
    profiles: [small]
    command: ["--model=Qwen/Qwen3-0.6B", "--served-model-name=g", "--max-model-len=4096", "--gpu-memory-utilization=0.5", "--enforce-eager"]
    ports: ["5010:8000"]
    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ["0"], capabilities: [gpu]}]}}}
  large:
    image: vllm/vllm-openai:v0.11.0
    profiles: [large]
    command: ["--model=Qwen/Qwen3-1.7B", "--served-model-name=g", "--max-model-len=4096", "--gpu-memory-utilization=0.5", "--enforce-eager"]
    ports: ["5010:8000"]
    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ["0"], capabilities: [gpu]}]}}}
  webui:
    image: ghcr.io/open-webui/open-webui:main
    ports: ["5011:8080"]
`

// TestComposeProfiles: without an active compose profile, up refuses (a
// deploy would start the web UI and no engine) and says how to choose; with
// COMPOSE_PROFILES in .env, as docker compose reads it, the resolved file
// holds that engine without its profiles: key (a plain 'up -d' starts it)
// and not the other, and the deploy follows it to ready.
func TestComposeProfiles(t *testing.T) {
	p := testProject(t, map[string]string{"g": gatedYAML}, "")
	f := newFake("docker (compose 2.99.0)")
	t.Cleanup(f.close)
	d := New(p, f)
	_, err := d.Up(t.Context(), "g", quiet(UpOptions{}))
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("up with no compose profile active: %v, want ErrConfig", err)
	}
	for _, want := range []string{"run only under compose profiles: large (service large), small (service small)", "set COMPOSE_PROFILES=large in .env"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal lacks %q: %v", want, err)
		}
	}
	if len(f.log) != 0 {
		t.Fatalf("a refused deploy applied: %v", f.log)
	}

	if err := os.WriteFile(filepath.Join(p.Root, ".env"), []byte("COMPOSE_PROFILES=small\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err = project.Load(context.Background(), project.Options{Root: p.Root})
	if err != nil {
		t.Fatal(err)
	}
	d = New(p, f)
	res, err := d.Up(t.Context(), "g", quiet(UpOptions{}))
	if err != nil {
		t.Fatalf("up with COMPOSE_PROFILES=small: %v", err)
	}
	b, err := os.ReadFile(res.File)
	if err != nil {
		t.Fatal(err)
	}
	resolved := string(b)
	if !strings.Contains(resolved, "\n    small:\n") || strings.Contains(resolved, "\n    large:\n") || !strings.Contains(resolved, "\n    webui:\n") || strings.Contains(resolved, "profiles:") {
		t.Errorf("resolved file: want small and webui without profiles:, not large:\n%s", resolved)
	}
	if res.Record.Outcome != "ready" {
		t.Errorf("outcome %q, want ready", res.Record.Outcome)
	}
}
