//go:build acceptance

package check

import (
	"context"
	"github.com/vllmctl/vllmctl/internal/acceptance"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/project"
)

// corpus is a real operator's folder, shared read-only beside the checkout.
func corpus(t testing.TB) string {
	t.Helper()
	return acceptance.Shared(t, "corpus", "myia_vllm_2025-10")
}

// TestCorpus checks every compose file of the real corpus as a stand-alone
// file: nothing crashes, the known defects are found, and the hard-coded key
// never appears in any message.
func TestCorpus(t *testing.T) {
	root := corpus(t)
	var files []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yml") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 30 {
		t.Fatalf("found only %d compose files in the corpus", len(files))
	}
	const leakedKey = "3F9A1C7E5B2D4068A1E9C3B7D5F20481"
	found := map[string]map[string]bool{} // file -> codes
	for _, f := range files {
		p, err := project.Load(t.Context(), project.Options{Root: root, Files: []string{f}, Environ: map[string]string{}})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		rel, _ := filepath.Rel(root, f)
		rel = filepath.ToSlash(rel)
		found[rel] = map[string]bool{}
		for _, d := range Run(p, Options{Host: localLinux}) {
			if strings.Contains(d.String(), leakedKey) {
				t.Errorf("%s: a secret leaked into %q", rel, d)
			}
			found[rel][d.Code] = true
		}
	}
	want := map[string][]string{
		"configs/docker/profiles/medium.yml":                                  {"unset-variable", "flag-noop", "image-unpinned", "no-hf-cache", "tool-parser-fit"},
		"docker-compose-qwen3-micro.yml":                                      {"flag-deprecated", "flag-noop", "unset-variable", "healthcheck-start"},
		"archived/docker_configs_20251016/docker-compose-micro-qwen3-new.yml": {"hardcoded-secret"},
		"archived/docker_configs_20251016/docker-compose-micro.yml":           {"leading-space"},
	}
	for file, codes := range want {
		for _, code := range codes {
			if !found[file][code] {
				t.Errorf("%s: no %s finding (got %v)", file, code, found[file])
			}
		}
	}
	// Findings that must not be there. medium.yml's healthcheck (start_period
	// 300s, retries 5, interval 30s) gives 300 + 5 × 30 = 450 s before Docker
	// marks it unhealthy, above the 410 s load estimate of Qwen3-32B.
	wantNot := map[string][]string{
		"configs/docker/profiles/medium.yml": {"healthcheck-start"},
	}
	for file, codes := range wantNot {
		for _, code := range codes {
			if found[file][code] {
				t.Errorf("%s: a %s finding, want none", file, code)
			}
		}
	}
}

// BenchmarkCheckCorpusMedium is BenchmarkCheckExample on the corpus's real
// medium profile.
func BenchmarkCheckCorpusMedium(b *testing.B) {
	ctx := context.Background()
	root := corpus(b)
	for b.Loop() {
		p, err := project.Load(ctx, project.Options{Root: root, Environ: map[string]string{}})
		if err != nil {
			b.Fatal(err)
		}
		_ = Run(p, Options{})
	}
}
