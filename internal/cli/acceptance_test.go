//go:build acceptance

package cli

import (
	"github.com/vllmctl/vllmctl/internal/acceptance"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestAcceptanceScripts runs testdata/acceptance/*.txtar, the scripts on the
// real operator's folder: $WORK/corpus is a writable copy of
// ../shared/corpus/myia_vllm_2025-10 and $WORK/example one of examples/project.
func TestAcceptanceScripts(t *testing.T) {
	corpus := acceptance.Shared(t, "corpus", "myia_vllm_2025-10")
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
