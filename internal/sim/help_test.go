package sim

import (
	"bytes"
	"context"
	"flag"
	"io"
	"strings"
	"testing"
)

// TestHelpListsEverySimFlag: --sim-help, -h and --help print the usage and
// every --sim-* flag in the form the simulator accepts, exit 0, and never
// complain about their own flag ("flag provided but not defined").
func TestHelpListsEverySimFlag(t *testing.T) {
	o := DefaultOptions()
	var names []string
	flagSet(&o, io.Discard).VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if len(names) < 20 {
		t.Fatalf("flagSet declares %d flags, want the simulator's 20+", len(names))
	}
	for _, arg := range []string{"--sim-help", "-h", "--help"} {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), []string{"serve", "m", arg}, nil, &stdout, &stderr)
		if code != 0 {
			t.Errorf("%s: exit %d, want 0", arg, code)
		}
		out := stdout.String()
		if stderr.Len() != 0 {
			t.Errorf("%s: stderr %q, want nothing", arg, stderr.String())
		}
		for _, bad := range []string{"not defined", "Usage of vllm-sim", "\n  -sim-"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s: output contains %q:\n%s", arg, bad, out)
			}
		}
		if !strings.HasPrefix(out, usageText) {
			t.Errorf("%s: output does not start with the usage text:\n%s", arg, out)
		}
		for _, n := range names {
			if !strings.Contains(out, "\n  --"+n+" ") && !strings.Contains(out, "\n  --"+n+"\n") {
				t.Errorf("%s: --%s missing from the help:\n%s", arg, n, out)
			}
		}
		for _, want := range []string{`(default "H100 80GB")`, "(default 500ms)", "api-server)"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %q missing from the help", arg, want)
			}
		}
	}
}
