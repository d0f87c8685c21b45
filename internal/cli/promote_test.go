package cli

import (
	"strings"
	"testing"
)

// The promotion itself is tested on vllm-sim in internal/promote; here the
// command's usage and its recovery mode.
func TestPromoteUsageAndRecover(t *testing.T) {
	dir := benchProject(t, map[string][]string{})
	_, errOut, code := runIn(t, dir, "promote", "next")
	if code != 2 || !strings.Contains(errOut, "promote CANDIDATE --over LIVE") {
		t.Errorf("promote without --over: exit %d, %s", code, errOut)
	}
	_, errOut, code = runIn(t, dir, "promote", "next", "--over", "live", "--gate", dir+"/missing.yaml")
	if code != 2 || !strings.Contains(errOut, "--gate") {
		t.Errorf("promote with a missing gate file: exit %d, %s", code, errOut)
	}
	// a live profile that is not deployed: nothing is changed, and the
	// result says that neither runs (not that the live one does)
	two := benchProject(t, map[string][]string{"live": {}, "next": {}})
	out, errOut, code := runIn(t, two, "promote", "next", "--over", "live", "--runtime", "process")
	if code != 1 || !strings.Contains(out, "failed; neither live nor next runs") || !strings.Contains(out, "live is not deployed") {
		t.Errorf("promote over a live profile not deployed: exit %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = runIn(t, dir, "promote", "--recover", "--runtime", "process")
	if code != 0 || !strings.Contains(out, "no unfinished promotion") {
		t.Errorf("promote --recover: exit %d\n%s\n%s", code, out, errOut)
	}
}
