package main

import (
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// Chart geometry, in pixels. The left margin and the width are not fixed:
// they are sized from the longest contender name, value and title, so
// that nothing is cut.
const (
	chartPad     = 10.0  // around everything
	chartPlot    = 420.0 // the longest whisker's length
	chartBar     = 22
	chartGap     = 8
	chartTop     = 44
	chartFont    = 13.0
	chartTitleFt = 15.0
)

// writeChart draws one scenario's medians as a horizontal bar chart, each
// with a whisker from the smallest to the largest repetition, pxroute in
// its own colour.
func writeChart(path string, sc scenario, figs map[string]figure) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(chartSVG(sc, figs)), 0o644)
}

// chartSVG renders the chart writeChart writes.
func chartSVG(sc scenario, figs map[string]figure) string {
	var names []string
	maxV, labelW := 0.0, 0.0
	for _, c := range sc.contenders {
		if f, ok := figs[c.name]; ok {
			names = append(names, c.name)
			maxV = max(maxV, f.Max, f.Median)
			labelW = max(labelW, textWidth(c.name, chartFont, false))
		}
	}
	scale := func(v float64) float64 {
		if maxV <= 0 {
			return 0
		}
		return v / maxV * chartPlot
	}
	better := "higher is better"
	if sc.lowerIsBetter {
		better = "lower is better"
	}
	subtitle := sc.unit + ", " + better + "; bars are medians, whiskers min–max"
	left := chartPad + labelW + 8
	width := max(left+chartPlot+chartPad,
		2*chartPad+textWidth(sc.title, chartTitleFt, true),
		2*chartPad+textWidth(subtitle, chartFont, false))
	for _, n := range names {
		f := figs[n]
		width = max(width, left+scale(max(f.Max, f.Median))+6+textWidth(valueText(f), chartFont, false)+chartPad)
	}
	h := chartTop + len(names)*(chartBar+chartGap) + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%d" font-family="sans-serif" font-size="%.0f">`+"\n", width, h, chartFont)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="20" font-size="%.0f" font-weight="bold">%s</text>`+"\n", chartPad, chartTitleFt, html.EscapeString(sc.title))
	fmt.Fprintf(&b, `<text x="%.0f" y="36" fill="#555">%s</text>`+"\n", chartPad, html.EscapeString(subtitle))
	for i, n := range names {
		f := figs[n]
		y := chartTop + i*(chartBar+chartGap)
		mid := float64(y) + chartBar/2
		colour := "#9aa5b1"
		if n == "pxroute" {
			colour = "#1f77b4"
		}
		lo, hi := left+scale(f.Min), left+scale(f.Max)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+chartBar-6, html.EscapeString(n))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", left, y, scale(f.Median), chartBar, colour)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#222" stroke-width="1.5"/>`+"\n", lo, mid, hi, mid)
		for _, x := range []float64{lo, hi} {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#222" stroke-width="1.5"/>`+"\n", x, mid-5, x, mid+5)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", left+scale(max(f.Max, f.Median))+6, y+chartBar-6, html.EscapeString(valueText(f)))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// valueText is a bar's label: its median, and its spread when the
// repetitions differed.
func valueText(f figure) string {
	if f.Min == f.Max {
		return format(f.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", format(f.Median), format(f.Min), format(f.Max))
}

// textWidth estimates how wide s is drawn in a sans-serif font of px
// pixels, generously (an SVG cannot measure its own text): wide East
// Asian characters an em, capitals and wide letters 0.78 em, the rest
// 0.62 em; bold 8% more.
func textWidth(s string, px float64, bold bool) float64 {
	em := 0.0
	for _, r := range s {
		switch {
		case r >= 0x1100 && (r <= 0x115f || r >= 0x2e80):
			em += 1.0
		case unicode.IsUpper(r) || r == 'm' || r == 'w' || r == '%' || r == '@':
			em += 0.78
		default:
			em += 0.62
		}
	}
	if bold {
		em *= 1.08
	}
	return em * px
}
