package cli

import (
	"slices"
	"testing"
)

// A reason longer than 40 characters becomes ?N, numbered once per reason;
// short ones and known values stay in their cells.
func TestFootnotes(t *testing.T) {
	var f footnotes
	long := "?may be set by the service's image and command (defined in a file that is not here)"
	got := []string{f.cell(long), f.cell("?${TP}"), f.cell("?may be set by the entrypoint /bin/sh /run.sh"), f.cell(long), f.cell("(256)"), f.cell("Qwen/Qwen3-8B")}
	want := []string{"?1", "?${TP}", "?2", "?1", "(256)", "Qwen/Qwen3-8B"}
	if !slices.Equal(got, want) {
		t.Errorf("cells %q, want %q", got, want)
	}
	if len(f.list) != 2 || f.list[0] != long[1:] || f.list[1] != "may be set by the entrypoint /bin/sh /run.sh" {
		t.Errorf("footnotes %q", f.list)
	}
}
