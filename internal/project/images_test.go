package project

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/vllm/flagdb"
)

type fakeImages struct {
	facts map[string]ImageFacts
	reads map[string]int
}

func (f *fakeImages) Image(_ context.Context, ref string) (ImageFacts, bool) {
	f.reads[ref]++
	x, ok := f.facts[ref]
	return x, ok
}

func TestReadImages(t *testing.T) {
	dir := t.TempDir()
	compose := `services:
  latest:
    image: vllm/vllm-openai:latest
    command: ["--model", "Qwen/Qwen3-8B"]
  again:
    image: vllm/vllm-openai:latest
    command: ["--model", "Qwen/Qwen3-8B", "--port", "8001"]
  custom:
    image: myorg/llm:prod
    entrypoint: ["vllm", "serve", "Qwen/Qwen3-8B"]
  nightly:
    image: vllm/vllm-openai:nightly
    command: ["--model", "Qwen/Qwen3-8B"]
  absent:
    image: vllm/vllm-openai:latest-cu129
    command: ["--model", "Qwen/Qwen3-8B"]
  pinned:
    image: vllm/vllm-openai:v0.11.0
    command: ["--model", "Qwen/Qwen3-8B"]
  future:
    image: vllm/vllm-openai:stable
    command: ["--model", "Qwen/Qwen3-8B"]
  fresh:
    image: vllm/vllm-openai:latest-cu130
    command: ["--model", "Qwen/Qwen3-8B"]
  nightlyabsent:
    image: docker.io/vllm/vllm-openai:nightly
    command: ["--model", "Qwen/Qwen3-8B"]
`
	if err := os.WriteFile(filepath.Join(dir, "llm.yml"), []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(context.Background(), Options{Root: dir, Files: []string{filepath.Join(dir, "llm.yml")}})
	if err != nil {
		t.Fatal(err)
	}
	if !p.WantsImages() {
		t.Fatal("WantsImages: false with unpinned engines")
	}
	day := func(s string) time.Time { x, _ := time.Parse(time.RFC3339, s); return x }
	r := &fakeImages{reads: map[string]int{}, facts: map[string]ImageFacts{
		// no VLLM_IMAGE_TAG (before v0.21): the day tells, 0.20.2 published 2026-05-10
		"vllm/vllm-openai:latest": {Created: day("2026-05-11T03:00:00Z")},
		// a custom image FROM vLLM's inherits the variable
		"myorg/llm:prod":           {Env: []string{"PATH=/usr/bin", "VLLM_IMAGE_TAG=vllm/vllm-openai:v0.25.0-cu130-ubuntu2404"}, Created: day("2026-11-01T00:00:00Z")},
		"vllm/vllm-openai:nightly": {Env: []string{"VLLM_IMAGE_TAG=vllm/vllm-openai:nightly-4b7f5ea1a"}, Created: day("2026-04-01T00:00:00Z")},
		"vllm/vllm-openai:stable":  {Created: day("2026-11-20T00:00:00Z")}, // after the release table
		// here but after the release table: it runs as it is, so the
		// newest-release guess of an absent image no longer holds
		"vllm/vllm-openai:latest-cu130": {Created: day("2026-11-20T00:00:00Z")},
	}}
	if n := p.ReadImages(context.Background(), r); n != 3 {
		t.Errorf("settled %d engines, want 3 (latest twice, custom)", n)
	}
	want := map[string]struct {
		version string
		util    float64
	}{
		"latest":  {"0.20.2 (local image's creation date: vllm/vllm-openai:latest, created 2026-05-11)", 0.92},
		"again":   {"0.20.2 (local image's creation date: vllm/vllm-openai:latest, created 2026-05-11)", 0.92},
		"custom":  {"0.25.0 (local image's VLLM_IMAGE_TAG: myorg/llm:prod = vllm/vllm-openai:v0.25.0-cu130-ubuntu2404)", 0.92},
		"nightly": {"unknown (vllm/vllm-openai:nightly)", 0.9},
		// not here: a pull brings the newest release, planned as the newest known
		"absent": {flagdb.Newest().String() + "? (assumed: vllm/vllm-openai:latest-cu129 is not on this machine and pulls the newest build; " + flagdb.Newest().String() + " is the newest release vllmctl knows)", 0.92},
		"fresh":  {"unknown (vllm/vllm-openai:latest-cu130)", 0.9},
		"future": {"unknown (vllm/vllm-openai:stable)", 0.9},
		"pinned": {"0.11.0 (image tag)", 0.9},
	}
	seen := 0
	for _, s := range p.engines() {
		w, ok := want[s.Name]
		if !ok {
			continue
		}
		seen++
		if got := s.Version.String(); got != w.version {
			t.Errorf("%s: %q, want %q", s.Name, got, w.version)
		}
		if s.Args.GPUMemoryUtilization != w.util {
			t.Errorf("%s: utilization default %g, want %g", s.Name, s.Args.GPUMemoryUtilization, w.util)
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of the %d engines", seen, len(want))
	}
	if r.reads["vllm/vllm-openai:latest"] != 1 || r.reads["vllm/vllm-openai:v0.11.0"] != 0 {
		t.Errorf("reads %v: each image once, pinned ones never", r.reads)
	}
}

// A built service's image is dated by its build, not by vLLM's release: only
// the variable it inherits tells.
func TestReleaseOfImageBuilt(t *testing.T) {
	created, _ := time.Parse(time.RFC3339, "2026-03-21T00:00:00Z")
	if _, _, _, ok := ReleaseOfImage("vllm/vllm-openai:latest", ImageFacts{Created: created}, true); ok {
		t.Error("a built image's date was read as a release")
	}
	if v, from, _, ok := ReleaseOfImage("vllm/vllm-openai:latest", ImageFacts{Created: created}, false); !ok || v.String() != "0.18.0" || from != VersionFromImageDate {
		t.Errorf("pulled image of 2026-03-21: %v %q %v, want 0.18.0 from its date", v, from, ok)
	}
	if _, _, _, ok := ReleaseOfImage("ghcr.io/me/vllm:latest", ImageFacts{Created: created}, false); ok {
		t.Error("another repository's date was read as a vLLM release")
	}
	// Only a tag that follows the releases is dated: not a nightly, a
	// version-less local tag or the -rocm image.
	for _, ref := range []string{"vllm/vllm-openai:nightly", "vllm/vllm-openai:dev", "vllm/vllm-openai-rocm:latest"} {
		if v, _, _, ok := ReleaseOfImage(ref, ImageFacts{Created: created}, false); ok {
			t.Errorf("%s dated as %v", ref, v)
		}
	}
	for _, ref := range []string{"vllm/vllm-openai", "docker.io/vllm/vllm-openai:latest-cu129", "vllm/vllm-openai@sha256:0123"} {
		if v, _, _, ok := ReleaseOfImage(ref, ImageFacts{Created: created}, false); !ok || v.String() != "0.18.0" {
			t.Errorf("%s: %v %v, want 0.18.0 from its date", ref, v, ok)
		}
	}
	if v, _, _, ok := ReleaseOfImage("x", ImageFacts{Env: []string{"VLLM_IMAGE_TAG=v0.25.0"}}, true); !ok || v.String() != "0.25.0" {
		t.Errorf("bare VLLM_IMAGE_TAG: %v %v", v, ok)
	}
	if v, _, _, ok := ReleaseOfImage("x", ImageFacts{Labels: map[string]string{"ai.vllm.image.tag": "vllm/vllm-openai:v0.30.0"}}, true); !ok || v.String() != "0.30.0" {
		t.Errorf("label: %v %v", v, ok)
	}
}
