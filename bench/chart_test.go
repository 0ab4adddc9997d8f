package main

import (
	"encoding/xml"
	"strconv"
	"strings"
	"testing"
)

// svgText is one <text> of a chart, as drawn.
type svgText struct {
	X      float64 `xml:"x,attr"`
	Anchor string  `xml:"text-anchor,attr"`
	Size   string  `xml:"font-size,attr"`
	Weight string  `xml:"font-weight,attr"`
	Text   string  `xml:",chardata"`
}

// chartExtents parses a chart and reports every text that would be drawn
// outside it (by textWidth's generous estimate), and its whiskers.
func chartExtents(t *testing.T, svg string) (outside []string, whiskers int) {
	t.Helper()
	var doc struct {
		Width float64    `xml:"width,attr"`
		Size  string     `xml:"font-size,attr"`
		Texts []svgText  `xml:"text"`
		Lines []struct{} `xml:"line"`
	}
	if err := xml.Unmarshal([]byte(svg), &doc); err != nil {
		t.Fatalf("chart is not well-formed: %v\n%s", err, svg)
	}
	for _, tx := range doc.Texts {
		size := doc.Size
		if tx.Size != "" {
			size = tx.Size
		}
		px, _ := strconv.ParseFloat(size, 64)
		w := textWidth(tx.Text, px, tx.Weight == "bold")
		lo, hi := tx.X, tx.X+w
		if tx.Anchor == "end" {
			lo, hi = tx.X-w, tx.X
		}
		if lo < 0 || hi > doc.Width {
			outside = append(outside, strconv.Quote(tx.Text)+" spans "+strconv.FormatFloat(lo, 'f', 0, 64)+".."+strconv.FormatFloat(hi, 'f', 0, 64)+" of 0.."+strconv.FormatFloat(doc.Width, 'f', 0, 64))
		}
	}
	return outside, len(doc.Lines)
}

// Labels and titles of any length fit: the margins are sized from them.
// Each bar has a whisker from the smallest to the largest repetition.
func TestChartFitsLabels(t *testing.T) {
	long := "Go net framed echo server, one goroutine per connection (no relay at all)"
	for _, tc := range []struct {
		name, title string
		names       []string
	}{
		{"short", "Bridge", []string{"pxroute", "socat"}},
		{"long-contender-names", "Fan-out", []string{"pxroute", long, "ncat --broker"}},
		{"long-title", "100 MB framed echo: 8-byte length + 100,000,000 bytes, 5 round trips, a new connection each, and then some more words", []string{"pxroute", "Go io.Copy relay"}},
		{"wide-characters", "延迟：通过桥接到回显服务器的 64 字节行往返", []string{"pxroute", "回显服务器（无中继）"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := scenario{name: "x", title: tc.title, unit: "messages/s delivered"}
			figs := map[string]figure{}
			for i, n := range tc.names {
				sc.contenders = append(sc.contenders, contender{name: n})
				v := float64(1000000 * (i + 1))
				figs[n] = figure{Median: v, Min: v * 0.9, Max: v * 1.25}
			}
			outside, whiskers := chartExtents(t, chartSVG(sc, figs))
			if len(outside) > 0 {
				t.Errorf("text outside the chart:\n%s", strings.Join(outside, "\n"))
			}
			if whiskers < len(tc.names) {
				t.Errorf("%d whisker lines for %d bars", whiskers, len(tc.names))
			}
		})
	}
}

func TestSpread(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want figure
	}{
		{nil, figure{}},
		{[]float64{3}, figure{3, 3, 3}},
		{[]float64{5, 1, 3}, figure{3, 1, 5}},
		{[]float64{9, 1, 4, 2}, figure{3, 1, 9}},
	} {
		if got := spread(tc.in); got != tc.want {
			t.Errorf("spread(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// The harness's own scenarios fit too (the longest title was cut).
func TestChartFitsEveryScenario(t *testing.T) {
	for _, sc := range allScenarios() {
		figs := map[string]figure{}
		for i, c := range sc.contenders {
			v := 123456.0 * float64(i+1)
			figs[c.name] = figure{Median: v, Min: v / 2, Max: v * 2}
		}
		if outside, _ := chartExtents(t, chartSVG(sc, figs)); len(outside) > 0 {
			t.Errorf("%s: text outside the chart:\n%s", sc.name, strings.Join(outside, "\n"))
		}
	}
}

// The report's table gives each median its spread, and a ratio of medians.
func TestReportShowsSpread(t *testing.T) {
	sc := scenario{name: "bridge", title: "Bridge", unit: "Gbit/s",
		contenders: []contender{{name: "pxroute"}, {name: "socat"}, {name: "once"}}}
	md := describe(sc, map[string]figure{
		"pxroute": {Median: 12.87, Min: 12.1, Max: 13.02},
		"socat":   {Median: 5.72, Min: 5.5, Max: 6},
		"once":    {Median: 4, Min: 4, Max: 4},
	}, map[string]float64{}, nil)
	for _, want := range []string{
		"| contender | Gbit/s, median (min–max) | pxroute ÷ it | CPU s per run |",
		"| pxroute | 12.87 (12.10–13.02) |  | — |",
		"| socat | 5.72 (5.50–6.00) | 2.25 | — |",
		"| once | 4.00 | 3.22 | — |",
	} {
		if !strings.Contains(md, want+"\n") {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}
