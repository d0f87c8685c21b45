package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestUsageExitCodes: usage errors exit 2 by where they fail (argument
// checks, required flags, flag parsing, an unknown command), not by cobra's
// wording.
func TestUsageExitCodes(t *testing.T) {
	root := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		code int
		say  string
	}{
		{"unknown command", []string{"frobnicate"}, ExitUsage, `unknown command "frobnicate"`},
		{"extra argument", []string{"-C", root, "schema", "extra"}, ExitUsage, `unknown command "extra"`},
		{"too many arguments", []string{"-C", root, "diff", "a", "b", "c"}, ExitUsage, "accepts 2 arg(s)"},
		{"required flag", []string{"-C", root, "new", "x"}, ExitUsage, `required flag(s) "model" not set`},
		{"unknown flag", []string{"-C", root, "check", "--nope"}, ExitUsage, "unknown flag: --nope"},
		{"invalid flag value", []string{"-C", root, "serve", "--refresh", "soon"}, ExitUsage, "invalid argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(t.Context(), tc.args, strings.NewReader(""), &out, &errb)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, errb.String())
			}
			if !strings.Contains(errb.String(), tc.say) {
				t.Errorf("stderr %q lacks %q", errb.String(), tc.say)
			}
		})
	}
}
