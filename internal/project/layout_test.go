package project

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMatchGlob(t *testing.T) {
	for _, tt := range []struct {
		pat, name string
		want      bool
	}{
		{"models/*/vllm/compose/**/*.yml", "models/qwen3/vllm/compose/dual/fp8/mtp.yml", true},
		{"models/*/vllm/compose/**/*.yml", "models/qwen3/vllm/compose/mtp.yml", true},
		{"models/*/vllm/compose/**/*.yml", "models/qwen3/sglang/compose/mtp.yml", false},
		{"**/*.yaml", "a/b/c.yaml", true},
		{"**/*.yaml", "c.yaml", true},
		{"*.yml", "a/c.yml", false},
	} {
		if got := MatchGlob(tt.pat, tt.name); got != tt.want {
			t.Errorf("MatchGlob(%q, %q) = %v, want %v", tt.pat, tt.name, got, tt.want)
		}
	}
}

func TestProfileNames(t *testing.T) {
	files := []string{
		"models/qwen3.8-27b/vllm/compose/multi4/fp8/mtp.yml",
		"models/qwen3.8-27b/vllm/compose/dual/fp8/mtp.yml",
		"models/nemotron-3-puzzle-75b/vllm/compose/dual/w4a16/turbo.yml",
	}
	want := map[string]string{
		"models/qwen3.8-27b/vllm/compose/multi4/fp8/mtp.yml":             "qwen3-8-27b-multi4-fp8-mtp",
		"models/qwen3.8-27b/vllm/compose/dual/fp8/mtp.yml":               "qwen3-8-27b-dual-fp8-mtp",
		"models/nemotron-3-puzzle-75b/vllm/compose/dual/w4a16/turbo.yml": "nemotron-3-puzzle-75b-dual-w4a16-turbo",
	}
	if diff := cmp.Diff(want, ProfileNames(files)); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

func TestProfileNamesUnique(t *testing.T) {
	got := ProfileNames([]string{"profiles/medium.yml", "profiles/micro.yml", "a/x.yml", "b/x.yml"})
	want := map[string]string{"profiles/medium.yml": "profiles-medium", "profiles/micro.yml": "profiles-micro", "a/x.yml": "a-x", "b/x.yml": "b-x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	got = ProfileNames([]string{"profiles/medium.yml", "profiles/micro.yml"})
	want = map[string]string{"profiles/medium.yml": "medium", "profiles/micro.yml": "micro"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}
