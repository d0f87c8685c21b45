package cli

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWrittenFilesEndWithNewline: every file `init`, `init --adopt` and `new`
// write ends with a newline (editors, diffs and `cat` expect one).
func TestWrittenFilesEndWithNewline(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		var out, errb bytes.Buffer
		if code := Main(t.Context(), args, strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("vllmctl %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
		}
	}
	run("init", dir)
	run("-C", dir, "new", "mini", "--model", "Qwen/Qwen3-8B-AWQ", "--gpu-ids", "0")
	zoo := filepath.Join(t.TempDir(), "zoo")
	if err := os.MkdirAll(filepath.Join(zoo, "models", "m"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(zoo, "models", "m", "a.yml"), []byte("services:\n  vllm:\n    image: vllm/vllm-openai:v0.11.0\n    command: [\"--model\", \"Qwen/Qwen3-8B\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run("init", "--adopt", zoo)
	checked := 0
	for _, root := range []string{dir, zoo} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if len(data) == 0 && d.Name() == ".gitkeep" {
				return nil // empty on purpose
			}
			checked++
			if len(data) == 0 || data[len(data)-1] != '\n' {
				t.Errorf("%s does not end with a newline", p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 7 {
		t.Fatalf("only %d files written; init, new and init --adopt write more", checked)
	}
}
