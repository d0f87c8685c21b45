package cli

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
)

// flagName finds the long names in pflag's usage text.
var flagName = regexp.MustCompile(`(?m)^ +(?:-[[:alnum:]], )?--([[:alnum:]][[:alnum:]-]*)`)

// committedReference is docs/cli seen from this package's folder.
var committedReference = filepath.Join("..", "..", filepath.FromSlash(ReferenceDir))

// TestCLIReferenceCurrent regenerates the reference into a temporary folder
// and fails, naming each stale page and the command that rewrites them, when
// the committed docs/cli differs from the command tree.
func TestCLIReferenceCurrent(t *testing.T) {
	gen := t.TempDir()
	if err := WriteReference(gen); err != nil {
		t.Fatal(err)
	}
	generated := readMarkdown(t, gen)
	committed := readMarkdown(t, committedReference)
	if len(generated) < 20 {
		t.Fatalf("the generator wrote %d pages, want one per command (20+)", len(generated))
	}
	var stale []string
	firstDiff := ""
	for _, name := range slices.Sorted(maps.Keys(generated)) {
		got, ok := committed[name]
		switch {
		case !ok:
			stale = append(stale, fmt.Sprintf("%s/%s: missing (a new command)", ReferenceDir, name))
		case got != generated[name]:
			stale = append(stale, fmt.Sprintf("%s/%s: out of date", ReferenceDir, name))
			if firstDiff == "" {
				firstDiff = fmt.Sprintf("\nFirst difference, %s/%s (-committed +generated):\n%s", ReferenceDir, name, clip(cmp.Diff(strings.Split(got, "\n"), strings.Split(generated[name], "\n")), 60))
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(committed)) {
		if _, ok := generated[name]; !ok {
			stale = append(stale, fmt.Sprintf("%s/%s: no such command any more (the generator removes it)", ReferenceDir, name))
		}
	}
	if len(stale) > 0 {
		t.Errorf("the CLI reference %s/ does not match the command tree:\n  %s\n\nRegenerate it from the module root and commit %s/:\n\n\t%s\n%s",
			ReferenceDir, strings.Join(stale, "\n  "), ReferenceDir, RegenerateCommand, firstDiff)
	}
}

// readMarkdown reads the .md files of dir by name.
func readMarkdown(t *testing.T, dir string) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = string(data)
	}
	return out
}

func clip(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) <= lines {
		return s
	}
	return strings.Join(l[:lines], "\n") + fmt.Sprintf("\n... (%d more lines)", len(l)-lines)
}

// TestReferencePages: every available command has a page with its name,
// usage line, examples, each of its flags and the inherited --root, and is
// linked from its parent's page and from the index; hidden commands are not.
func TestReferencePages(t *testing.T) {
	files := Reference()
	index := string(files["README.md"])
	root := newRoot(&env{ctx: context.Background(), environ: map[string]string{}})
	root.InitDefaultCompletionCmd()
	flags := 0
	var walk func(c *cobra.Command) int
	walk = func(c *cobra.Command) int {
		n := 1
		name := docFile(c)
		page := string(files[name])
		if page == "" {
			t.Errorf("%s: no page %s", c.CommandPath(), name)
			return n
		}
		if !strings.HasPrefix(page, generatedHeader+"# "+c.CommandPath()+"\n\n") {
			t.Errorf("%s: page does not start with the generated header and the command's title:\n%s", name, clip(page, 5))
		}
		want := []string{"## Usage\n\n```\n", "[" + c.CommandPath() + "](" + name + ")"}
		if c.Runnable() {
			want = append(want, c.UseLine()+"\n")
		}
		if c.HasExample() {
			want = append(want, "## Examples\n\n```\n"+strings.TrimRight(c.Example, " \n")+"\n```\n")
		}
		if c != root {
			want = append(want, "-C, --root DIR")
		}
		for _, w := range want {
			if w == "["+c.CommandPath()+"]("+name+")" {
				if !strings.Contains(index, w) {
					t.Errorf("README.md does not link %s", w)
				}
				if p := c.Parent(); p != nil && !strings.Contains(string(files[docFile(p)]), w) {
					t.Errorf("%s does not link %s", docFile(p), w)
				}
				continue
			}
			if !strings.Contains(page, w) {
				t.Errorf("%s: %q missing:\n%s", name, w, page)
			}
		}
		for _, m := range flagName.FindAllStringSubmatch(c.LocalFlags().FlagUsages(), -1) {
			flags++
			if !strings.Contains(page, "--"+m[1]+" ") && !strings.Contains(page, "--"+m[1]+"\n") {
				t.Errorf("%s: flag --%s missing", name, m[1])
			}
		}
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				n += walk(sub)
			} else if _, ok := files[docFile(sub)]; ok {
				t.Errorf("%s is hidden, deprecated or help, yet has a page", sub.CommandPath())
			}
		}
		return n
	}
	n := walk(root)
	if flags < 40 {
		t.Errorf("found %d flags in the tree, want vllmctl's 40+ (is the flag pattern still right?)", flags)
	}
	for _, w := range []string{"-v, --version", "-h, --help", "-C, --root DIR"} {
		if !strings.Contains(string(files["vllmctl.md"]), w) {
			t.Errorf("vllmctl.md: %q missing", w)
		}
	}
	if len(files) != n+1 {
		t.Errorf("%d files for %d commands, want one page per command and README.md: %v", len(files), n, slices.Sorted(maps.Keys(files)))
	}
	if again := Reference(); !maps.EqualFunc(files, again, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Error("two renderings of the same tree differ: the reference is not deterministic")
	}
}

// TestWriteReferenceRemovesOldPages: a page whose command is gone is removed,
// other files in the folder are kept, and every page is written.
func TestWriteReferenceRemovesOldPages(t *testing.T) {
	dir := t.TempDir()
	gone := filepath.Join(dir, "vllmctl_gone.md")
	other := filepath.Join(dir, "notes.md")
	for _, p := range []string{gone, other} {
		if err := os.WriteFile(p, []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteReference(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("vllmctl_gone.md: stat error %v, want it removed", err)
	}
	if data, err := os.ReadFile(other); err != nil || string(data) != "x\n" {
		t.Errorf("notes.md: %q, %v; want it kept as it was", data, err)
	}
	got := readMarkdown(t, dir)
	for name, data := range Reference() {
		if got[name] != string(data) {
			t.Errorf("%s not written as rendered", name)
		}
	}
}

func TestMarkdownText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain words\nflow on", "plain words\nflow on"},
		{"intro:\n\n  a   one\n  b   two\n\nafter", "intro:\n\n```\n  a   one\n  b   two\n```\n\nafter"},
		{"keys:\n  K=<key>\nthen", "keys:\n\n```\n  K=<key>\n```\n\nthen"},
		{"project <project>-<profile>", `project \<project\>-\<profile\>`},
		{"masked as *** and [x]", `masked as \*\*\* and \[x\]`},
		{"archive_dir and CUDA_DEVICE_ORDER", "archive_dir and CUDA_DEVICE_ORDER"},
		{"_emphasis_ no", `\_emphasis\_ no`},
		{"1. not a list\n- not an item\n# not a heading", "1\\. not a list\n\\- not an item\n\\# not a heading"},
		{"--flag at a line start", "--flag at a line start"},
	} {
		if got := mdText(tc.in); got != tc.want {
			t.Errorf("mdText(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
	if got := mdCell("a | b"); got != `a \| b` {
		t.Errorf("mdCell: %q", got)
	}
}
