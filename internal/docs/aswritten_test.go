package docs

import (
	"slices"
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
