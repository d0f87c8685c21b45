package docs

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/project"
)

// TestWrittenEnv: every variable reads as the file writes it, whatever the
// environment: its default, else its own reference.
func TestWrittenEnv(t *testing.T) {
	src := project.ParseSource("p.yml", "/nowhere/p.yml", []byte(`services:
  e:
    image: vllm/vllm-openai:${TAG:-v0.11.0}
    command: ["--served-model-name", "${NAME}", "--api-key", "${KEY:?set it}", "$G", "${G:-z}",
      "--model", "${D:-${E:-Qwen/Qwen3-8B}}", "${F:+--enforce-eager}", "${H-}"]
`))
	env, named := writtenEnv([]*project.Source{src})
	want := map[string]string{"TAG": "v0.11.0", "NAME": "${NAME}", "KEY": "${KEY}", "G": "z", "D": "", "E": "Qwen/Qwen3-8B", "F": "", "H": ""}
	for k, v := range want {
		if got, ok := env[k]; !ok || got != v {
			t.Errorf("%s = %q (set %v), want %q", k, got, ok, v)
		}
	}
	if len(env) != len(want) {
		t.Errorf("env %v, want exactly %v", env, want)
	}
	slices.Sort(named)
	if !slices.Equal(named, []string{"KEY", "NAME"}) {
		t.Errorf("named %v, want [KEY NAME]", named)
	}
}

// A profile that loads only with its bare variables replaced (a port from a
// variable: "${PORT}" does not parse as a port) shows its engine arguments
// from variables as unknown, never as the zero an empty value would give.
func TestAsWrittenFallbackKeepsUnknowns(t *testing.T) {
	root := t.TempDir()
	write := func(rel, s string) {
		t.Helper()
		path := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("configs/docker/profiles/v.yml", `services:
  vllm:
    image: vllm/vllm-openai:v0.11.0
    command: ["--model", "/models/${MODEL}", "--tensor-parallel-size", "${TP}", "--gpu-memory-utilization", "${UTIL}"]
    ports: ["${PORT}:8000"]
`)
	write(".env", "TP=4\nUTIL=0.5\nMODEL=local-secret-name\nPORT=9000\n")
	p, err := project.Load(context.Background(), project.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	pw, err := AsWritten(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	doc := Render(pw, Input{})
	for _, want := range []string{"| tensor parallel | unknown (${TP}) |", "| gpu-memory-utilization | unknown (${UTIL}) |", "| model | unknown (/models/${MODEL}) |"} {
		if !strings.Contains(doc, want) {
			t.Errorf("the document lacks %q:\n%s", want, doc)
		}
	}
	for _, bad := range []string{"| tensor parallel | 0 |", "0.00", "local-secret-name", "| tensor parallel | 4 |"} {
		if strings.Contains(doc, bad) {
			t.Errorf("the document shows %q (a value the files do not give):\n%s", bad, doc)
		}
	}
}
