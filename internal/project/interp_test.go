package project

import (
	"reflect"
	"testing"

	"github.com/compose-spec/compose-go/v2/template"
)

func TestScanRefs(t *testing.T) {
	tests := []struct {
		in    string
		names []string
		ops   []string
		errs  int
		stray bool
	}{
		{"plain", nil, nil, 0, false},
		{"$$literal", nil, nil, 0, false},
		{"${A}", []string{"A"}, []string{""}, 0, false},
		{"$A-x", []string{"A"}, []string{""}, 0, false},
		{"${A:-5002}:${B-x}", []string{"A", "B"}, []string{":-", "-"}, 0, false},
		{"${A:?need A}", []string{"A"}, []string{":?"}, 0, false},
		{"${A:-${B}}", []string{"A"}, []string{":-"}, 0, false},
		{"${A:-${A}}}", []string{"A"}, []string{":-"}, 0, true},
		{"${A", nil, nil, 1, false},
		{"${}", nil, nil, 1, false},
		{"${A B}", nil, nil, 1, false},
		{"${1A}", nil, nil, 1, false},
		{"${A:-${B}", nil, nil, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			refs, errs := ScanRefs(tt.in)
			var names, ops []string
			stray := false
			for _, r := range refs {
				names = append(names, r.Name)
				ops = append(ops, r.Op)
				stray = stray || r.Stray
			}
			if !reflect.DeepEqual(names, tt.names) || !reflect.DeepEqual(ops, tt.ops) || len(errs) != tt.errs || stray != tt.stray {
				t.Errorf("got names %v ops %v errs %v stray %v; want %v %v %d %v", names, ops, errs, stray, tt.names, tt.ops, tt.errs, tt.stray)
			}
		})
	}
}

func TestExpandMatchesCompose(t *testing.T) {
	env := map[string]string{"A": "a", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, in := range []string{"${A}", "${UNSET:-d}", "${EMPTY:-d}", "${EMPTY-d}", "${A:+r}", "${UNSET+r}", "x$${A}y", "${UNSET:-${A}}", "$A.$A"} {
		got, _ := Expand(in, lookup)
		want, err := template.SubstituteWithOptions(in, lookup, template.WithoutLogging)
		if err != nil || got != want {
			t.Errorf("%q: got %q, compose %q (%v)", in, got, want, err)
		}
	}
}

// FuzzScanRefs: the scanner never panics, is deterministic, and where it finds
// no error and nothing required is missing, Expand gives what compose-go gives.
func FuzzScanRefs(f *testing.F) {
	for _, s := range []string{"${A:-5002}:${B}", "$$x ${A:?e}", "${A:-${B:-${C}}}}", "${", "$A$B", "${A+x}"} {
		f.Add(s)
	}
	env := map[string]string{"A": "alpha", "B": "", "C": "c"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	f.Fuzz(func(t *testing.T, s string) {
		r1, e1 := ScanRefs(s)
		r2, e2 := ScanRefs(s)
		if !reflect.DeepEqual(r1, r2) || !reflect.DeepEqual(e1, e2) {
			t.Fatal("not deterministic")
		}
		for _, r := range r1 {
			if r.Offset < 0 || r.End > len(s) || r.Offset >= r.End {
				t.Fatalf("bad span %d..%d in %q", r.Offset, r.End, s)
			}
		}
		if len(e1) > 0 {
			return
		}
		got, unset := Expand(s, lookup)
		want, err := template.SubstituteWithOptions(s, lookup, template.WithoutLogging)
		if err != nil {
			return // compose rejects it (required variable, or a form we accept loosely)
		}
		if len(unset) == 0 && got != want {
			t.Fatalf("%q: got %q, compose-go %q", s, got, want)
		}
	})
}
