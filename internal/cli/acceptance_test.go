//go:build acceptance

package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// sharedPath is ../shared/<elem...> beside the checkout (from this package:
// ../../../shared). Acceptance tests need it: its absence is a failure that
// names the missing path, never a skip.
func sharedPath(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{"..", "..", "..", "shared"}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		abs, _ := filepath.Abs(p)
		t.Fatalf("acceptance: %s is missing (%v): run from a checkout with ../shared beside it (`make test` needs no ../shared)", abs, err)
	}
	return p
}

// TestAcceptanceScripts runs testdata/acceptance/*.txtar, the scripts on the
// real operator's folder: $WORK/corpus is a writable copy of
// ../shared/corpus/myia_vllm_2025-10 and $WORK/example one of examples/project.
func TestAcceptanceScripts(t *testing.T) {
	corpus := sharedPath(t, "corpus", "myia_vllm_2025-10")
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/acceptance",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("VLLMCTL_NO_NVIDIA_SMI", "1") // plans use declared GPUs only, wherever the tests run
			if err := copyTree(filepath.Join("..", "..", "examples", "project"), filepath.Join(env.WorkDir, "example")); err != nil {
				return err
			}
			return copyTree(corpus, filepath.Join(env.WorkDir, "corpus"))
		},
		UpdateScripts: os.Getenv("UPDATE_SCRIPTS") == "1",
	})
}
