package resolve

import (
	"context"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/project"
)

func example(t *testing.T, environ map[string]string) *project.Project {
	t.Helper()
	p, err := project.Load(context.Background(), project.Options{Root: "../../examples/project", Environ: environ})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolveKeepsSecretsAsReferences(t *testing.T) {
	p := example(t, map[string]string{})
	pr, _ := p.Profile("medium")
	r, err := Resolve(p, pr, ResolveOptions{Version: "test", DeployID: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	y := string(r.YAML)
	if strings.Contains(y, "demo-medium-key-0003") {
		t.Fatal("the API key is in the resolved file")
	}
	for _, want := range []string{"--api-key=${VLLM_API_KEY_MEDIUM}", "dev.vllmctl.profile: medium", "dev.vllmctl.config-hash: " + r.Hash, "image: vllm/vllm-openai:v0.11.0"} {
		if !strings.Contains(y, want) {
			t.Errorf("resolved file lacks %q:\n%s", want, y)
		}
	}
	if strings.Contains(y, "\nname:") {
		t.Error("top-level name is not for Compose v1")
	}
	// The hash is of the config: the deploy id and simulation do not change it.
	g, _ := gpu.Declare("RTX 4090", "", 2)
	r2, err := Resolve(p, pr, ResolveOptions{Version: "other", DeployID: "d2", Simulate: true, SimGPUs: g})
	if err != nil || r2.Hash != r.Hash {
		t.Fatalf("hash changed: %s vs %s (%v)", r2.Hash, r.Hash, err)
	}
	s := string(r2.YAML)
	for _, want := range []string{"image: vllm-sim:dev", "--sim-gpu-memory", "23.99GiB"} {
		if !strings.Contains(s, want) {
			t.Errorf("simulated file lacks %q", want)
		}
	}
	if strings.Contains(s, "capabilities") {
		t.Error("GPU reservation kept under --simulate")
	}
}

func TestResolveEscapesDollar(t *testing.T) {
	p := example(t, map[string]string{"VLLM_API_KEY_MICRO": "k$y-with-dollar-0001"})
	pr, _ := p.Profile("micro")
	r, err := Resolve(p, pr, ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A value from the process environment is not a .env reference: it is written escaped.
	if !strings.Contains(string(r.YAML), "k$$y-with-dollar-0001") {
		t.Fatalf("'$' not escaped:\n%s", r.YAML)
	}
}

func TestComposeName(t *testing.T) {
	p := example(t, nil)
	if got := ComposeName(p, "Med ium"); got != "vllm-med-ium" {
		t.Fatal(got)
	}
}
