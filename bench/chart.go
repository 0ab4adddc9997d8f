package main

import (
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
)

// writeChart draws one scenario's medians as a horizontal bar chart, pxroute
// in its own colour.
func writeChart(path string, sc scenario, res map[string]float64) error {
	var names []string
	maxV := 0.0
	for _, c := range sc.contenders {
		if v, ok := res[c.name]; ok {
			names = append(names, c.name)
			maxV = max(maxV, v)
		}
	}
	const left, width, bar, gap, top = 230, 420, 22, 8, 44
	h := top + len(names)*(bar+gap) + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="13">`+"\n", left+width+110, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", html.EscapeString(sc.title))
	better := "higher is better"
	if sc.lowerIsBetter {
		better = "lower is better"
	}
	fmt.Fprintf(&b, `<text x="10" y="36" fill="#555">%s, %s</text>`+"\n", html.EscapeString(sc.unit), better)
	for i, n := range names {
		v := res[n]
		y := top + i*(bar+gap)
		w := 0.0
		if maxV > 0 {
			w = v / maxV * width
		}
		colour := "#9aa5b1"
		if n == "pxroute" {
			colour = "#1f77b4"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+bar-6, html.EscapeString(n))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", left, y, w, bar, colour)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(left)+w+6, y+bar-6, format(v))
	}
	b.WriteString("</svg>\n")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
