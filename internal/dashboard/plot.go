package dashboard

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

// Plot is one small line chart of a quantity over the window, as inline SVG
// (numbers only: no text from an engine or a file reaches it).
type Plot struct {
	Title   string        // "Tokens/s"
	Now     string        // the newest value, formatted; "–" when none
	Summary string        // what a screen reader hears: newest, highest, window
	SVG     template.HTML // the chart
}

const plotW, plotH = 240.0, 48.0

// plot draws the values get returns (ok false: a gap) over [now-window, now].
// A fixed top (yMax > 0) keeps fractions on one scale; else the highest value.
func plot(title string, pts []Point, now time.Time, window time.Duration, yMax float64, get func(Point) (float64, bool), format func(float64) string) Plot {
	top, hi, have := yMax, 0.0, false
	var last float64
	lastOK := false
	for _, p := range pts {
		if v, ok := get(p); ok {
			hi = max(hi, v)
			have = true
			last, lastOK = v, true
		} else {
			lastOK = false
		}
	}
	if top <= 0 {
		top = hi
	}
	if top <= 0 {
		top = 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="plot" viewBox="0 0 %g %g" width="%g" height="%g" aria-hidden="true" focusable="false">`, plotW, plotH, plotW, plotH)
	fmt.Fprintf(&b, `<line class="axis" x1="0" y1="%g" x2="%g" y2="%g"/>`, plotH-0.5, plotW, plotH-0.5)
	start := now.Add(-window)
	// One vertex per pixel column, the column's highest value (a spike
	// stays visible): at most plotW vertices whatever the ring holds.
	var seg []string
	col, colV := -1, 0.0
	point := func() {
		if col >= 0 {
			y := (plotH - 2) * (1 - min(colV, top)/top)
			seg = append(seg, fmt.Sprintf("%d,%.1f", col, y+1))
		}
		col = -1
	}
	flush := func() {
		point()
		if len(seg) == 1 {
			seg = append(seg, seg[0])
		}
		if len(seg) > 0 {
			fmt.Fprintf(&b, `<polyline class="line" points="%s"/>`, strings.Join(seg, " "))
		}
		seg = seg[:0]
	}
	for _, p := range pts {
		v, ok := get(p)
		if !ok || p.Time.Before(start) {
			flush()
			continue
		}
		x := min(int(plotW*p.Time.Sub(start).Seconds()/window.Seconds()), int(plotW))
		if x != col {
			point()
			col, colV = x, v
		}
		colV = max(colV, v)
	}
	flush()
	b.WriteString(`</svg>`)
	pl := Plot{Title: title, Now: "–", SVG: template.HTML(b.String())}
	if lastOK {
		pl.Now = format(last)
	}
	win := strings.TrimSuffix(strings.TrimSuffix(window.String(), "0s"), "0m")
	if have {
		pl.Summary = fmt.Sprintf("%s over the last %s: now %s, highest %s", title, win, pl.Now, format(hi))
	} else {
		pl.Summary = fmt.Sprintf("%s over the last %s: no samples yet", title, win)
	}
	return pl
}
