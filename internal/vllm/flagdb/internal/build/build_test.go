package build

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestParseErrorsSayWhere(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"0.1.0.txt", "@release 0.1.0\n--model\t-\tvalue\t-\t-\t-\n", "0.1.0.txt:2: flag row before any @page"},
		{"0.1.0.txt", "@release 0.2.0\n", "0.1.0.txt:1: release 0.2.0 does not match the file name"},
		{"0.1.0.txt", "@release 0.1.0\n@page https://x\n--model\tvalue\n", "0.1.0.txt:3: want 6 or 7 tab-separated columns"},
		{"0.1.0.txt", "@release 0.1.0\n@page https://x\n--model\t-\tstring\t-\t-\t-\n", "0.1.0.txt:3: unknown kind"},
		{"0.1.0.txt", "@release 0.1.0\n@page https://x\n@absent --model\n", "0.1.0.txt:3: @absent needs a flag, a tab and a reason"},
		{"0.1.0.txt", "@release 0.1.0\n@page http://x\n", "0.1.0.txt:2: @page needs an https URL"},
	} {
		_, err := Generate(fstest.MapFS{c.name: {Data: []byte(c.text)}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v; want %q", c.text, err, c.want)
		}
	}
}

func TestMergeDiffsReleases(t *testing.T) {
	fsys := fstest.MapFS{
		"0.1.0.txt": {Data: []byte("@release 0.1.0\n@page https://a\n@section s complete\n--old\t-\tbool\t-\t-\t-\n")},
		"0.2.0.txt": {Data: []byte("@release 0.2.0\n@page https://b\n@section s complete\n--old\t-\tbool\t-\t-\tdeprecated: use --new\n--new\t-n\tvalue\tx,y\tx\t-\n")},
		"0.3.0.txt": {Data: []byte("@release 0.3.0\n@page https://c\n@section s complete\n--new\t-\tvalue\tx,y,z\t-\t-\n")},
	}
	src, err := Generate(fsys)
	if err != nil {
		t.Fatal(err)
	}
	out := string(src)
	for _, want := range []string{
		`{Name: "new", Aliases: []string{"-n"}, Kind: Value, Negatable: false, Default: "x"`,
		`FirstSeen: Version{0, 2, 0}, LastSeen: Version{0, 3, 0}, Added: Version{0, 2, 0}, AbsentBefore: Version{0, 1, 0}`,
		`Deprecated: Version{0, 2, 0}, Removed: Version{0, 3, 0}`,
		`gone in 0.3.0: missing from the s section, which 0.3.0's page shows whole`,
		`{Version{0, 2, 0}, []string{"x", "y"}}`,
		`{Version{0, 3, 0}, []string{"x", "y", "z"}}`,
		`{Version: Version{0, 1, 0}, Source: "https://a"}`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("generated source lacks %q:\n%s", want, out)
		}
	}
}
