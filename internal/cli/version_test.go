package cli

import (
	"runtime/debug"
	"testing"
)

// TestResolveVersion: ldflags win; what they leave unset comes from the build
// info the Go toolchain records (go install @version, go build in a checkout).
func TestResolveVersion(t *testing.T) {
	checkout := &debug.BuildInfo{Main: debug.Module{Path: "github.com/vllmctl/vllmctl", Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "6ff89eb1f2c3a4b5c6d7e8f90123456789abcdef"},
			{Key: "vcs.time", Value: "2026-12-07T01:38:26Z"},
			{Key: "vcs.modified", Value: "true"},
		}}
	installed := &debug.BuildInfo{Main: debug.Module{Path: "github.com/vllmctl/vllmctl", Version: "v1.4.0"}}
	for _, c := range []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  string
	}{
		{"stamped by the Makefile", "v1.4.0-3-g6ff89eb", "6ff89eb1f2c3", "2026-12-07T01:38:26Z", checkout,
			"v1.4.0-3-g6ff89eb (commit 6ff89eb1f2c3, built 2026-12-07T01:38:26Z)"},
		{"go install @v1.4.0", "dev", "", "", installed, "v1.4.0"},
		{"go build in a dirty checkout", "dev", "", "", checkout, "dev (commit 6ff89eb1f2c3-dirty, built 2026-12-07T01:38:26Z)"},
		{"version stamped, the rest from vcs", "v2.0.0", "", "", checkout, "v2.0.0 (commit 6ff89eb1f2c3-dirty, built 2026-12-07T01:38:26Z)"},
		{"no build info", "", "", "", nil, "dev"},
		{"a short revision", "dev", "", "", &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}}}, "dev (commit abc)"},
	} {
		if got := resolveVersion(c.version, c.commit, c.date, c.bi).String(); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
