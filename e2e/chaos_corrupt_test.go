package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// damages are the ways a state file is found broken: cut by a crash or a
// full disk, emptied, overwritten, or holding JSON of another shape.
var damages = []struct {
	name string
	of   func(good []byte) []byte
}{
	{"truncated", func(g []byte) []byte { return g[:len(g)/2] }},
	{"empty", func([]byte) []byte { return nil }},
	{"binary", func([]byte) []byte { return []byte("\x00\x01\xfe\xffgarbage") }},
	{"wrong shape", func([]byte) []byte { return []byte(`{"records": 1}`) }},
}

// TestChaosCorruptHistory damages .vllmctl/history.json four ways under a
// deployed profile: every command that reads it exits 2, naming the file and
// the fix, and the file is left exactly as found.
func TestChaosCorruptHistory(t *testing.T) {
	p := newProject(t, variants[2], goodArgs, "", "")
	p.must(0, "up", "a")
	path := filepath.Join(p.dir, ".vllmctl", "history.json")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := os.WriteFile(path, good, 0o644); err != nil {
			t.Error(err)
		}
	}()
	for _, d := range damages {
		bad := d.of(good)
		if err := os.WriteFile(path, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"status", "a"}, {"logs", "a"}, {"restart", "a"}, {"down", "a"}, upArgs("a")} {
			out, code := runIn(p.dir, args...)
			if code != 2 || !strings.Contains(out, path) || !strings.Contains(out, "damaged") || !strings.Contains(out, "move it away") {
				t.Errorf("%s history, vllmctl %s: exit %d, want 2 naming %s, \"damaged\" and \"move it away\":\n%s", d.name, args[0], code, path, out)
			}
			if now, err := os.ReadFile(path); err != nil || string(now) != string(bad) {
				t.Fatalf("%s history, vllmctl %s changed or removed it (%v)", d.name, args[0], err)
			}
		}
		if pids := enginesIn(p.dir); len(pids) != 1 {
			t.Fatalf("%s history: the commands that refused changed the engines: %v", d.name, pids)
		}
	}
}
