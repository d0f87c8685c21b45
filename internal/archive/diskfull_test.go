package archive

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/atomicfile"
)

// fullAfter is a WriteFile that writes the first n files and then fails as a
// full disk does, leaving what the real writer leaves on ENOSPC: nothing.
func fullAfter(n int, writes *int) func(string, []byte, os.FileMode) error {
	return func(path string, data []byte, perm os.FileMode) error {
		*writes++
		if *writes > n {
			return &os.PathError{Op: "write", Path: path, Err: syscall.ENOSPC}
		}
		return atomicfile.WriteFile(path, data, perm)
	}
}

func writeTree(t *testing.T, root string) {
	t.Helper()
	for rel, c := range contents {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// wholeSomewhere: every file is whole in its original place or listed in the
// manifest with its content; no temporary or unlisted copy is left.
func wholeSomewhere(t *testing.T, root string) (archived int) {
	t.Helper()
	folder := filepath.Join(root, "archived", Prefix+"20261127")
	m, err := Store{Root: root, Dir: "archived"}.manifest("archived/" + Prefix + "20261127")
	if err != nil {
		t.Fatalf("manifest unreadable: %v", err)
	}
	listed := map[string]Entry{}
	for _, e := range m.Entries {
		listed[e.Original] = e
	}
	for rel, c := range contents {
		orig, oerr := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		e, ok := listed[rel]
		switch {
		case oerr == nil && string(orig) != c:
			t.Fatalf("%s changed in place: %q", rel, orig)
		case ok:
			b, err := os.ReadFile(filepath.Join(folder, filepath.FromSlash(e.File)))
			if err != nil || string(b) != c || e.SHA256 != sum(c) {
				t.Fatalf("%s is listed but its archived copy is %q (%v)", rel, b, err)
			}
			archived++
		case oerr != nil:
			t.Fatalf("%s is lost: not in place (%v) and not in the manifest", rel, oerr)
		}
	}
	for _, rel := range filesUnder(folder) {
		if rel == "MANIFEST.json" || rel == "MANIFEST.md" {
			continue
		}
		if strings.Contains(rel, ".tmp-") {
			t.Fatalf("temporary file left: %s", rel)
		}
		found := false
		for _, e := range m.Entries {
			found = found || e.File == rel
		}
		if !found {
			t.Fatalf("an archived copy no manifest lists: %s", rel)
		}
	}
	return archived
}

// TestDiskFullDuringMove fails the disk at every write of a three-file move in
// turn: nothing is lost, the error names the file, the disk and what to do,
// and once space is back the same command finishes the job.
func TestDiskFullDuringMove(t *testing.T) {
	day := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	reqs := []Request{{Path: "a.yml"}, {Path: "b.yml"}, {Path: "sub/c.yml"}}
	// A move of three files writes 3 copies and 3 × 2 manifests.
	const total = 9
	for n := 0; n < total; n++ {
		root := t.TempDir()
		writeTree(t, root)
		writes := 0
		s := Store{Root: root, Dir: "archived", WriteFile: fullAfter(n, &writes)}
		done, err := s.Move(reqs, "disk full test", "", day, false)
		if err == nil {
			t.Fatalf("full after %d writes: Move succeeded (%d done)", n, len(done))
		}
		msg := err.Error()
		if !strings.Contains(msg, "no space left on device") || !strings.Contains(msg, "the disk is full: free space on the disk that holds archived/"+Prefix+"20261127 and run the command again") {
			t.Fatalf("full after %d writes: the error does not say the disk is full and what to do: %v", n, err)
		}
		named := false
		for _, r := range reqs {
			named = named || strings.Contains(msg, r.Path)
		}
		if !named {
			t.Fatalf("full after %d writes: the error names no file: %v", n, err)
		}
		if strings.Contains(msg, "MANIFEST.md could not be written") != (n%3 == 2) {
			t.Fatalf("full after %d writes: %v", n, err)
		}
		got := wholeSomewhere(t, root)
		if got != n/3 && got != n/3+1 {
			t.Fatalf("full after %d writes: %d files archived", n, got)
		}
		// Space is back: the files still in place are archived, the readable
		// manifest is written again.
		var left []Request
		for _, r := range reqs {
			if _, err := os.Stat(filepath.Join(root, r.Path)); err == nil {
				left = append(left, r)
			}
		}
		s.WriteFile = nil
		if _, err := s.Move(left, "disk full test", "", day, false); err != nil {
			t.Fatalf("full after %d writes, then space: %v", n, err)
		}
		if got := wholeSomewhere(t, root); got != len(contents) {
			t.Fatalf("full after %d writes, then space: %d of %d archived", n, got, len(contents))
		}
		m, _ := s.manifest("archived/" + Prefix + "20261127")
		md, err := os.ReadFile(filepath.Join(root, "archived", Prefix+"20261127", "MANIFEST.md"))
		if err != nil || string(md) != markdown("archived/"+Prefix+"20261127", m) {
			t.Fatalf("full after %d writes, then space: MANIFEST.md is not the manifest's: %v\n%s", n, err, md)
		}
	}
}

// TestDiskFullDuringRestore: a restore that cannot write the file or the
// manifest leaves the archive as it was (the next command must not take the
// restored file for an unfinished move and delete it).
func TestDiskFullDuringRestore(t *testing.T) {
	day := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	for n := 0; n < 3; n++ {
		root := t.TempDir()
		writeTree(t, root)
		s := Store{Root: root, Dir: "archived"}
		if _, err := s.Move([]Request{{Path: "a.yml"}}, "restore test", "", day, false); err != nil {
			t.Fatal(err)
		}
		writes := 0
		s.WriteFile = fullAfter(n, &writes)
		_, err := s.Restore("a.yml", false)
		if err == nil || !strings.Contains(err.Error(), "a.yml") || !strings.Contains(err.Error(), "the disk is full") {
			t.Fatalf("full after %d writes: %v", n, err)
		}
		s.WriteFile = nil
		if _, err := s.Recover(); err != nil {
			t.Fatal(err)
		}
		b, ferr := os.ReadFile(filepath.Join(root, "a.yml"))
		m, _ := s.manifest("archived/" + Prefix + "20261127")
		switch {
		case n < 2: // the file or MANIFEST.json failed: nothing restored, still archived
			if ferr == nil || len(m.Entries) != 1 {
				t.Fatalf("full after %d writes: a.yml in place: %v, %d entries", n, ferr == nil, len(m.Entries))
			}
		default: // MANIFEST.md failed: restored, and Recover kept it
			if ferr != nil || string(b) != contents["a.yml"] || len(m.Entries) != 0 {
				t.Fatalf("full after %d writes: a.yml %q (%v), %d entries", n, b, ferr, len(m.Entries))
			}
		}
	}
}
