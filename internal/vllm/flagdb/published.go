package flagdb

import "time"

// published lists the day (UTC) each vLLM release was published on GitHub,
// from v0.10.0 on: a dump of GitHub's releases API up to v0.25.1
// (published_at), and for later releases the dates that release-bump pull
// requests and audit notes record (coreweave/ml-containers, AWS Deep
// Learning Containers), each checked against a second source within a day.
// There is no v0.28.1 or v0.29.1 (only release candidates); v0.10.1.1
// (2025-08-20) is 0.10.1 here, as Version drops a fourth part.
var published = []struct {
	Version Version
	Day     string
}{
	{Version{0, 10, 0}, "2025-07-24"}, {Version{0, 10, 1}, "2025-08-18"},
	{Version{0, 10, 2}, "2025-09-13"}, {Version{0, 11, 0}, "2025-10-02"}, {Version{0, 11, 1}, "2025-11-18"},
	{Version{0, 11, 2}, "2025-11-20"}, {Version{0, 12, 0}, "2025-12-03"}, {Version{0, 13, 0}, "2025-12-19"},
	{Version{0, 14, 0}, "2026-01-20"}, {Version{0, 14, 1}, "2026-01-24"}, {Version{0, 15, 0}, "2026-01-29"},
	{Version{0, 15, 1}, "2026-02-04"}, {Version{0, 16, 0}, "2026-02-25"}, {Version{0, 17, 0}, "2026-03-07"},
	{Version{0, 17, 1}, "2026-03-11"}, {Version{0, 18, 0}, "2026-03-20"}, {Version{0, 18, 1}, "2026-03-31"},
	{Version{0, 19, 0}, "2026-04-03"}, {Version{0, 19, 1}, "2026-04-18"}, {Version{0, 20, 0}, "2026-04-27"},
	{Version{0, 20, 1}, "2026-05-04"}, {Version{0, 20, 2}, "2026-05-10"}, {Version{0, 21, 0}, "2026-05-15"},
	{Version{0, 22, 0}, "2026-05-29"}, {Version{0, 22, 1}, "2026-06-05"}, {Version{0, 23, 0}, "2026-06-15"},
	{Version{0, 24, 0}, "2026-06-29"}, {Version{0, 25, 0}, "2026-07-11"}, {Version{0, 25, 1}, "2026-07-14"},
	{Version{0, 26, 0}, "2026-07-27"}, {Version{0, 27, 0}, "2026-08-10"}, {Version{0, 27, 1}, "2026-08-11"},
	{Version{0, 28, 0}, "2026-08-26"}, {Version{0, 29, 0}, "2026-09-09"}, {Version{0, 30, 0}, "2026-09-22"},
	{Version{0, 31, 0}, "2026-10-05"},
}

// publishedThrough is the last day an image can be dated from the table:
// nightlies were still 0.31.1rc1 on 2026-10-11 and v0.32.0 came later, on a
// day not found, so an image of the 11th (pushed up to a day early) may
// already hold it.
const publishedThrough = "2026-10-10"

// ReleaseOn is the release an image of vLLM's own repository built at t
// holds: the newest one published by the day after t (release images are
// pushed up to a day before the release page). False before v0.10.0 and
// after publishedThrough, where the table cannot tell.
func ReleaseOn(t time.Time) (Version, bool) {
	day := t.UTC().Add(24 * time.Hour).Format(time.DateOnly)
	if t.UTC().Format(time.DateOnly) > publishedThrough {
		return Version{}, false
	}
	found := false
	var v Version
	for _, p := range published {
		if p.Day <= day {
			v, found = p.Version, true
		}
	}
	return v, found
}
