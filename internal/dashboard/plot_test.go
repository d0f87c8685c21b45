package dashboard

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestPlot(t *testing.T) {
	now := time.Unix(100_000, 0)
	var pts []Point
	for i := range 720 { // an hour at 5 s
		pts = append(pts, Point{Time: now.Add(-time.Hour).Add(time.Duration(i+1) * 5 * time.Second), Up: i != 400, Running: 1})
	}
	pts[100].Running = 9 // a spike, one sample wide
	get := func(p Point) (float64, bool) { return p.Running, p.Up }
	pl := plot("Requests running", pts, now, time.Hour, 0, get, func(x float64) string { return strings.Repeat("I", int(x)) })
	lines := regexp.MustCompile(`<polyline class="line" points="([^"]*)"/>`).FindAllStringSubmatch(string(pl.SVG), -1)
	if len(lines) != 2 {
		t.Fatalf("a down sample splits the line in 2, got %d polylines: %s", len(lines), pl.SVG)
	}
	n := 0
	for _, l := range lines {
		n += len(strings.Fields(l[1]))
	}
	if n > 241 {
		t.Fatalf("%d vertices for 720 samples: more than one per pixel column", n)
	}
	if !strings.Contains(string(pl.SVG), ",1.0 ") {
		t.Fatalf("the one-sample spike (the top, y=1.0) was lost: %s", pl.SVG)
	}
	if pl.Now != "I" || pl.Summary != "Requests running over the last 1h: now I, highest IIIIIIIII" {
		t.Fatalf("now %q, summary %q", pl.Now, pl.Summary)
	}
	empty := plot("KV cache usage", nil, now, time.Hour, 1, get, func(float64) string { return "x" })
	if empty.Now != "–" || !strings.HasSuffix(empty.Summary, "no samples yet") || strings.Contains(string(empty.SVG), "polyline") {
		t.Fatalf("no samples: %+v", empty)
	}
}
