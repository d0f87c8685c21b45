//go:build !windows

package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestMain lets TestCrashSafety run an archive move in a child process that
// SIGKILLs itself at a chosen step.
func TestMain(m *testing.M) {
	if root := os.Getenv("ARCHIVE_CHILD_ROOT"); root != "" {
		killAt, _ := strconv.Atoi(os.Getenv("ARCHIVE_CHILD_KILL_AT"))
		n := 0
		s := Store{Root: root, Dir: "archived", Hook: func(string) {
			n++
			if n == killAt {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}}
		var reqs []Request
		for _, f := range []string{"a.yml", "b.yml", "sub/c.yml"} {
			reqs = append(reqs, Request{Path: f})
		}
		if _, err := s.Move(reqs, "crash test", "", time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), false); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var contents = map[string]string{"a.yml": "services: {a: {image: x}}\n", "b.yml": "services: {b: {image: y}}\n", "sub/c.yml": "services: {c: {image: z}}\n"}

func sum(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

// invariants: every file is whole in its original place or in the archive, and
// the manifest lists only files that are there, with the right hash.
func invariants(t *testing.T, root string) {
	t.Helper()
	folder := filepath.Join(root, "archived", Prefix+"20261127")
	s := Store{Root: root, Dir: "archived"}
	m, err := s.manifest("archived/" + Prefix + "20261127")
	if err != nil {
		t.Fatalf("manifest unreadable: %v", err)
	}
	for _, e := range m.Entries {
		b, err := os.ReadFile(filepath.Join(folder, filepath.FromSlash(e.File)))
		if err != nil || sum(string(b)) != e.SHA256 {
			t.Fatalf("manifest lists %s but the archived copy is missing or damaged", e.File)
		}
	}
	for rel, want := range contents {
		orig, err1 := os.ReadFile(filepath.Join(root, rel))
		arch, err2 := os.ReadFile(filepath.Join(folder, filepath.FromSlash(rel))) // the folder structure is kept
		okOrig := err1 == nil && string(orig) == want
		okArch := err2 == nil && string(arch) == want
		if !okOrig && !okArch {
			t.Fatalf("%s is whole in neither place (orig %v %q, archive %v %q)", rel, err1, orig, err2, arch)
		}
		if err1 == nil && !okOrig {
			t.Fatalf("%s original damaged: %q", rel, orig)
		}
	}
}

func TestCrashSafety(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const runs = 40
	for i := 0; i < runs; i++ {
		root := t.TempDir()
		for rel, c := range contents {
			p := filepath.Join(root, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		killAt := 1 + rng.Intn(12) // 3 files × 4 steps
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "ARCHIVE_CHILD_ROOT="+root, "ARCHIVE_CHILD_KILL_AT="+strconv.Itoa(killAt))
		err := cmd.Run()
		var ee *exec.ExitError
		if err == nil || !errorsAs(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("run %d: child was not killed at step %d: %v", i, killAt, err)
		}
		invariants(t, root)
		// Resume: the next archive run completes the move.
		s := Store{Root: root, Dir: "archived"}
		var reqs []Request
		for rel := range contents {
			if _, err := os.Stat(filepath.Join(root, rel)); err == nil {
				reqs = append(reqs, Request{Path: rel})
			}
		}
		if _, err := s.Recover(); err != nil {
			t.Fatal(err)
		}
		invariants(t, root)
		var left []Request
		for _, r := range reqs {
			if _, err := os.Stat(filepath.Join(root, r.Path)); err == nil {
				left = append(left, r)
			}
		}
		if _, err := s.Move(left, "crash test", "", time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), false); err != nil {
			t.Fatalf("run %d: resume: %v", i, err)
		}
		invariants(t, root)
		m, _ := s.manifest("archived/" + Prefix + "20261127")
		if len(m.Entries) != 3 {
			t.Fatalf("run %d (kill at %d): after resume the manifest has %d entries", i, killAt, len(m.Entries))
		}
		for rel := range contents {
			if _, err := os.Stat(filepath.Join(root, rel)); err == nil {
				t.Fatalf("run %d: %s still in place after resume", i, rel)
			}
		}
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}
