package flagdb

import (
	"testing"
	"time"
)

func TestReleaseOn(t *testing.T) {
	for _, c := range []struct {
		at   string
		want string // "" when the table cannot tell
	}{
		{"2025-07-01T00:00:00Z", ""},       // before v0.10.0
		{"2025-10-02T12:00:00Z", "0.11.0"}, // the release day
		{"2025-10-01T20:00:00Z", "0.11.0"}, // images are pushed up to a day before the page
		{"2025-09-30T20:00:00Z", "0.10.2"}, // two days before: the previous release
		{"2026-03-21T08:00:00Z", "0.18.0"}, // between 0.18.0 and 0.18.1
		{"2026-08-11T10:30:00Z", "0.27.1"}, // v0.27.1's images, pushed 10:24–10:42Z
		{"2026-10-10T23:00:00Z", "0.31.0"}, // the last day the table covers
		{"2026-10-11T01:00:00Z", ""},       // after: 0.32.0's day is not known
	} {
		at, err := time.Parse(time.RFC3339, c.at)
		if err != nil {
			t.Fatal(err)
		}
		v, ok := ReleaseOn(at)
		got := ""
		if ok {
			got = v.String()
		}
		if got != c.want {
			t.Errorf("ReleaseOn(%s) = %q, want %q", c.at, got, c.want)
		}
	}
	// The table is in order, one day per release, each a release flagdb parses.
	for i := 1; i < len(published); i++ {
		if published[i].Day < published[i-1].Day || !published[i-1].Version.Less(published[i].Version) {
			t.Errorf("published[%d] %v %s out of order after %v %s", i, published[i].Version, published[i].Day, published[i-1].Version, published[i-1].Day)
		}
		if _, err := time.Parse(time.DateOnly, published[i].Day); err != nil {
			t.Error(err)
		}
	}
}
