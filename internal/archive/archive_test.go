package archive

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func setup(t *testing.T) (Store, string) {
	root := t.TempDir()
	for rel, c := range contents {
		p := filepath.Join(root, rel)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Store{Root: root, Dir: "archived"}, root
}

var day = time.Date(2025, 10, 16, 12, 0, 0, 0, time.UTC)

func TestMoveListRestore(t *testing.T) {
	s, root := setup(t)
	if _, err := s.Move([]Request{{Path: "a.yml"}}, "", "", day, false); err == nil {
		t.Fatal("a move without a reason was accepted")
	}
	got, err := s.Move([]Request{{Path: "a.yml", Profile: "micro"}, {Path: "sub/c.yml"}}, "superseded", "by profiles/micro.yml", day, true)
	if err != nil || len(got) != 2 {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "a.yml")); err != nil {
		t.Fatal("dry run moved a file")
	}
	if _, err := s.Move([]Request{{Path: "a.yml", Profile: "micro"}, {Path: "sub/c.yml"}}, "superseded", "by profiles/micro.yml", day, false); err != nil {
		t.Fatal(err)
	}
	all, _ := s.List()
	if len(all) != 1 || all[0].Name != "docker_configs_20251016" || len(all[0].Entries) != 2 || all[0].Entries[0].Profile != "micro" {
		t.Fatalf("got %+v", all)
	}
	md, _ := os.ReadFile(filepath.Join(root, "archived/docker_configs_20251016/MANIFEST.md"))
	if !strings.Contains(string(md), "| a.yml | a.yml | micro | superseded | by profiles/micro.yml | 2025-10-16 |") {
		t.Fatalf("MANIFEST.md:\n%s", md)
	}
	// restore refuses to overwrite without force
	if err := os.WriteFile(filepath.Join(root, "a.yml"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Restore("a.yml", false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("got %v", err)
	}
	if done, err := s.Restore("2025-10-16", true); err != nil || len(done) != 2 {
		t.Fatalf("restore: %v %v", done, err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "a.yml")); string(b) != contents["a.yml"] {
		t.Fatalf("restored %q", b)
	}
}

// TestMoveKeepsFolders: a file of a subfolder is archived under the same
// subfolder of the dated folder (not flattened beside others of the same
// name), listed by that path, and restored to where it came from.
func TestMoveKeepsFolders(t *testing.T) {
	s, root := setup(t)
	if err := os.WriteFile(filepath.Join(root, "c.yml"), []byte("services: {top: {image: t}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := s.Move([]Request{{Path: "sub/c.yml"}, {Path: "c.yml"}}, "old", "", day, false)
	if err != nil || len(got) != 2 {
		t.Fatalf("move: %v %v", got, err)
	}
	if got[0].File != "sub/c.yml" || got[1].File != "c.yml" {
		t.Errorf("entries %q and %q, want sub/c.yml and c.yml", got[0].File, got[1].File)
	}
	for rel, want := range map[string]string{"sub/c.yml": contents["sub/c.yml"], "c.yml": "services: {top: {image: t}}\n"} {
		b, err := os.ReadFile(filepath.Join(root, "archived/docker_configs_20251016", rel))
		if err != nil || string(b) != want {
			t.Errorf("archived %s: %q %v, want %q", rel, b, err, want)
		}
	}
	all, _ := s.List()
	if len(all) != 1 || len(all[0].Entries) != 2 || all[0].Entries[1].File != "sub/c.yml" {
		t.Fatalf("list: %+v", all)
	}
	if done, err := s.Restore("sub/c.yml", false); err != nil || len(done) != 1 || done[0].Original != "sub/c.yml" {
		t.Fatalf("restore: %v %v", done, err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "sub/c.yml")); string(b) != contents["sub/c.yml"] {
		t.Errorf("restored %q", b)
	}
	if _, err := os.Stat(filepath.Join(root, "archived/docker_configs_20251016/sub")); !os.IsNotExist(err) {
		t.Errorf("the emptied archive subfolder is left behind: %v", err)
	}
}

func TestPrune(t *testing.T) {
	s, _ := setup(t)
	if _, err := s.Move([]Request{{Path: "a.yml"}}, "old", "", day, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Move([]Request{{Path: "b.yml"}}, "old", "", day.AddDate(0, 1, 0), false); err != nil {
		t.Fatal(err)
	}
	age, err := ParseAge("6mo")
	if err != nil || age != 180*24*time.Hour {
		t.Fatal(age, err)
	}
	now := day.AddDate(1, 0, 0)
	del, kept, err := s.Prune(age, now, map[string]bool{sum(contents["b.yml"]): true}, false)
	if err != nil || len(del) != 1 || del[0].Name != "docker_configs_20251016" || len(kept) != 1 {
		t.Fatalf("del %v kept %v %v", del, kept, err)
	}
	if all, _ := s.List(); len(all) != 2 {
		t.Fatal("prune without yes deleted something")
	}
	if _, _, err := s.Prune(age, now, nil, true); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.List(); len(all) != 0 {
		t.Fatalf("left %v", all)
	}
	for _, bad := range []string{"6 months", "xmo", "-1d"} {
		if _, err := ParseAge(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
