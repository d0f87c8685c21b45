package project

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A folder run with plain `docker compose up`: docker-compose.yml and the
// docker-compose.override.yml docker compose merges over it are one profile,
// listed in vllmctl.yaml or not; an override with no default file beside it
// stays a profile of its own.
func TestComposeOverrideMerged(t *testing.T) {
	root := t.TempDir()
	write := func(rel, s string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("app/docker-compose.yml", `services:
  vllm:
    image: vllm/vllm-openai:v0.11.0
    command: ["--model", "Qwen/Qwen3-8B", "--max-model-len", "16384"]
    ports: ["8000:8000"]
`)
	write("app/docker-compose.override.yml", `services:
  vllm:
    command: ["--model", "Qwen/Qwen3-8B", "--max-model-len", "32768"]
`)
	write("lone/compose.override.yaml", `services:
  vllm:
    image: vllm/vllm-openai:v0.11.0
    command: ["--model", "Qwen/Qwen3-1.7B"]
`)
	for _, list := range []string{"  - app/docker-compose.yml\n  - lone/compose.override.yaml\n", "  - app/docker-compose.yml\n  - app/docker-compose.override.yml\n  - lone/compose.override.yaml\n"} {
		write(ConfigFile, "profiles:\n"+list)
		p, err := Load(context.Background(), Options{Root: root})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, pr := range p.Profiles {
			names = append(names, pr.Name)
		}
		if len(p.Profiles) != 2 {
			t.Fatalf("listed %q: profiles %v, want the app pair and the lone override", list, names)
		}
		app := p.Profiles[0]
		if app.File != "app/docker-compose.yml" || len(app.Sources) != 2 || app.Sources[1].Path != "app/docker-compose.override.yml" {
			t.Errorf("listed %q: profile %s from %s with %d sources, want app/docker-compose.yml + its override", list, app.Name, app.File, len(app.Sources))
		}
		if e := app.Engines(); len(e) != 1 || e[0].Args.MaxModelLen != 32768 || e[0].HostPort() != 8000 {
			t.Errorf("listed %q: the merged engine does not carry the override's --max-model-len 32768 and the base's port", list)
		}
		if lone := p.Profiles[1]; lone.File != "lone/compose.override.yaml" || len(lone.Sources) != 1 {
			t.Errorf("listed %q: the lone override: %s, %d sources", list, lone.File, len(lone.Sources))
		}
	}
	if b, ok := OverrideBase(root, "app/docker-compose.override.yml"); !ok || b != "app/docker-compose.yml" {
		t.Errorf("OverrideBase = %q, %v", b, ok)
	}
	if _, ok := OverrideBase(root, "lone/compose.override.yaml"); ok {
		t.Error("an override with no default file beside it has no base")
	}
	out, pairs := pairOverrides(root, []string{"app/docker-compose.override.yml"})
	if !slices.Equal(out, []string{"app/docker-compose.yml"}) || pairs["app/docker-compose.yml"] != "app/docker-compose.override.yml" || strings.Contains(strings.Join(out, " "), "override") {
		t.Errorf("an override listed alone: %v %v, want its default file as the profile", out, pairs)
	}
}
