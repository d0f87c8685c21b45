package check

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/project"
)

// corpus is a real operator's folder, shared read-only beside the checkout.
const corpus = "../../../shared/corpus/myia_vllm_2025-10"

// TestCorpus checks every compose file of the real corpus as a stand-alone
// file: nothing crashes, the known defects are found, and the hard-coded key
// never appears in any message.
func TestCorpus(t *testing.T) {
	if _, err := os.Stat(corpus); err != nil {
		t.Fatalf("the shared corpus must sit beside the checkout: %v", err)
	}
	var files []string
	_ = filepath.WalkDir(corpus, func(p string, d fs.DirEntry, err error) error {
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
		p, err := project.Load(t.Context(), project.Options{Root: corpus, Files: []string{f}, Environ: map[string]string{}})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		rel, _ := filepath.Rel(corpus, f)
		rel = filepath.ToSlash(rel)
		found[rel] = map[string]bool{}
		for _, d := range Run(p, Options{}) {
			if strings.Contains(d.String(), leakedKey) {
				t.Errorf("%s: a secret leaked into %q", rel, d)
			}
			found[rel][d.Code] = true
		}
	}
	want := map[string][]string{
		"configs/docker/profiles/medium.yml":                                  {"unset-variable", "flag-missing-value", "flag-noop", "image-unpinned", "healthcheck-start", "no-hf-cache", "tool-parser-fit"},
		"docker-compose-qwen3-micro.yml":                                      {"flag-removed", "flag-noop", "unset-variable", "healthcheck-start"},
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
}
