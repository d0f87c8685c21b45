package cli

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"vllmctl": func() {
			os.Exit(Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		},
	})
}

// TestScripts runs testdata/script/*.txtar. Each script starts with a comment
// saying what it checks; $WORK/example holds a copy of examples/project.
// Scripts that need the corpora kept beside the checkout live in
// testdata/acceptance and run under `make acceptance` (acceptance_test.go).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("VLLMCTL_NO_NVIDIA_SMI", "1") // plans use declared GPUs only, wherever the tests run
			return copyTree(filepath.Join("..", "..", "examples", "project"), filepath.Join(env.WorkDir, "example"))
		},
		UpdateScripts: os.Getenv("UPDATE_SCRIPTS") == "1",
	})
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == ".vllmctl" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644) // writable even when the source is not
	})
}
