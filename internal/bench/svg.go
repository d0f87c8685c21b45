package bench

import (
	"bytes"
	"fmt"
	"html"
	"math"
)

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"}

// Plot draws throughput (output tokens/s, x) against latency (E2E p50 and,
// dashed, p99, in ms, y) for each result, one line per result through its
// concurrency levels, each point labelled with its concurrency. The same
// results give the same bytes.
func Plot(results ...*Result) []byte {
	const w, h, left, right, top, bottom = 720.0, 440.0, 70.0, 20.0, 40.0, 60.0
	maxX, maxY := 0.0, 0.0
	for _, r := range results {
		for _, l := range r.Levels {
			maxX = math.Max(maxX, l.OutputTokS)
			maxY = math.Max(maxY, l.E2E.P99*1000)
		}
	}
	maxX, maxY = nice(maxX), nice(maxY)
	px := func(x float64) float64 { return left + x/maxX*(w-left-right) }
	py := func(y float64) float64 { return h - bottom - y/maxY*(h-top-bottom) }
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="22" font-size="14">Throughput against latency (solid: E2E p50, dashed: p99; labels: concurrency)</text>`+"\n", left)
	for i := 0; i <= 5; i++ {
		x, y := maxX*float64(i)/5, maxY*float64(i)/5
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", px(x), py(0), px(x), py(maxY))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", px(0), py(y), px(maxX), py(y))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", px(x), h-bottom+16, num(x))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, py(y)+4, num(y))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">output tokens/s</text>`+"\n", (left+w-right)/2, h-bottom+36)
	fmt.Fprintf(&b, `<text transform="translate(16 %.1f) rotate(-90)" text-anchor="middle">end-to-end latency (ms)</text>`+"\n", (top+h-bottom)/2)
	for i, r := range results {
		col := palette[i%len(palette)]
		var p50, p99 bytes.Buffer
		for _, l := range r.Levels {
			fmt.Fprintf(&p50, "%.1f,%.1f ", px(l.OutputTokS), py(l.E2E.P50*1000))
			fmt.Fprintf(&p99, "%.1f,%.1f ", px(l.OutputTokS), py(l.E2E.P99*1000))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", col, bytes.TrimSpace(p50.Bytes()))
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1" stroke-dasharray="4 3" points="%s"/>`+"\n", col, bytes.TrimSpace(p99.Bytes()))
		for _, l := range r.Levels {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/><text x="%.1f" y="%.1f" fill="%s">%d</text>`+"\n",
				px(l.OutputTokS), py(l.E2E.P50*1000), col, px(l.OutputTokS)+5, py(l.E2E.P50*1000)-5, col, l.Concurrency)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="%s">%s</text>`+"\n", left+10, top+16+16*float64(i), col, html.EscapeString(r.ID))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// nice rounds v up to 1, 2 or 5 × a power of ten (1 for 0).
func nice(v float64) float64 {
	if v <= 0 || math.IsNaN(v) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func num(v float64) string {
	if v >= 100 || v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}
