package audit

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vllmctl/vllmctl/internal/archive"
)

// TestApply: only the files marked archive move, each into the dated folder
// with its own folder kept; the keep files stay.
func TestApply(t *testing.T) {
	root := t.TempDir()
	for _, rel := range []string{"old/a.yml", "live.yml"} {
		path := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("services: {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep := Report{Files: []File{
		{Path: "old/a.yml", Group: "g", Action: ActionArchive, Reason: "superseded by live.yml"},
		{Path: "live.yml", Group: "g", Action: ActionKeep, Reason: "the live config"},
	}}
	day := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	moved, err := Apply(rep, archive.Store{Root: root, Dir: "archived"}, func() time.Time { return day })
	if err != nil {
		t.Fatal(err)
	}
	want := []Archived{{Original: "old/a.yml", Dest: "archived/docker_configs_20261207/old/a.yml"}}
	if diff := cmp.Diff(want, moved); diff != "" {
		t.Errorf("moved (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(root, "old/a.yml")); !os.IsNotExist(err) {
		t.Errorf("old/a.yml is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "archived/docker_configs_20261207/old/a.yml")); err != nil {
		t.Errorf("archived copy: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "live.yml")); err != nil {
		t.Errorf("live.yml (keep) moved: %v", err)
	}
}
