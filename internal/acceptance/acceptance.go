// Package acceptance locates the material acceptance tests read beside the
// checkout (../shared: the real operator's folder, the public compose files).
// Its absence fails the test with the missing path and what to do, never a
// skip. Only tests built with -tags acceptance (make acceptance) call it.
package acceptance

import (
	"os"
	"path/filepath"
	"testing"
)

// Shared returns ../shared/<elem...> beside the module root, or fails t.
func Shared(t testing.TB, elem ...string) string {
	t.Helper()
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatalf("acceptance: no go.mod above %s", root)
		}
		root = parent
	}
	p := filepath.Join(append([]string{filepath.Dir(root), "shared"}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("acceptance: %s is missing (%v): run from a checkout with ../shared beside it (`make test` needs no ../shared)", p, err)
	}
	return p
}
