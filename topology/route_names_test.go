package topology

import (
	"slices"
	"strings"
	"testing"
)

// withEndpoints makes a topology of routes over listeners of the names.
func withEndpoints(routes string, names ...string) []byte {
	var b strings.Builder
	b.WriteString("endpoints:\n")
	for _, n := range names {
		b.WriteString("  " + n + `: {kind: tcp, listen: "127.0.0.1:0", framing: lines}` + "\n")
	}
	return []byte(b.String() + "routes:" + routes)
}

// Each route's figures go by its name: its name:, else its pattern and
// ends; the compiled program lists them with the route's edges.
func TestRouteNamesDefaultToPatternAndEnds(t *testing.T) {
	cases := []struct {
		name   string
		eps    []string
		routes string
		want   []string
	}{
		{"named-and-default", []string{"feed", "a", "b", "chat"}, `
  - {pattern: fanout, name: market-data, from: feed, to: [a, b]}
  - {pattern: relay, members: chat}
`, []string{"market-data", "relay chat"}},
		{"default-lists-four-ends-then-a-count", []string{"feed", "a", "b", "c", "d", "e"}, `
  - {pattern: fanout, from: feed, to: [a, b, c, d, e]}
`, []string{"fanout feed->a,b,c,d,+1"}},
		{"routes-to-one-destination-are-told-apart-by-source", []string{"feed", "chat", "other", "a"}, `
  - {pattern: fanout, from: feed, to: a}
  - {pattern: fanout, from: chat, to: a}
  - {pattern: fanout, from: other, to: a}
`, []string{"fanout feed->a", "fanout chat->a", "fanout other->a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load("t.yaml", withEndpoints(tc.routes, tc.eps...))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range c.Prog.Routes {
				got = append(got, r.Name)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("route names %q, want %q", got, tc.want)
			}
		})
	}
}

// Routes with the same ends get #2, #3: unique, and the same whichever
// other routes the file holds.
func TestRouteNamesOfTheSameEndsAreNumbered(t *testing.T) {
	rt := func(from string) *Route {
		return &Route{Pattern: PatternFanout, From: Refs(from), To: Refs("a")}
	}
	x, y := rt("feed"), rt("feed")
	got := routeNames([]*Route{rt("chat"), x, y})
	if want := []string{"fanout chat->a", "fanout feed->a", "fanout feed->a #2"}; !slices.Equal(got, want) {
		t.Fatalf("names %q, want %q", got, want)
	}
}

// A compiled route lists every edge its sends use: main, tap, reply.
func TestCompiledRoutesListTheirEdges(t *testing.T) {
	c, err := Load("t.yaml", withEndpoints(`
  - {pattern: fanout, from: feed, to: a, tap: b}
  - {pattern: request, from: c, to: d}
`, "feed", "a", "b", "c", "d"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	for _, r := range c.Prog.Routes {
		for _, e := range r.Edges {
			seen[e] = true
		}
	}
	if len(c.Prog.Routes) != 2 || len(c.Prog.Routes[0].Edges) != 2 || len(c.Prog.Routes[1].Edges) != 2 || len(seen) != len(c.Prog.Edges) {
		t.Fatalf("routes %+v over %d edges", c.Prog.Routes, len(c.Prog.Edges))
	}
}

func TestRouteNameErrorsHavePositions(t *testing.T) {
	const eps = `endpoints:
  p: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  q: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  r: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  s: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
`
	cases := []struct {
		name   string
		routes string
		want   []string
	}{
		{"duplicate", `
  - {pattern: fanout, name: prices, from: p, to: q}
  - {pattern: fanout, name: prices, from: r, to: s}
`, []string{`t.yaml:8:29: route name "prices" is taken by an earlier route`}},
		{"another-route's-default", `
  - {pattern: fanout, from: p, to: q}
  - {pattern: fanout, name: "fanout p->q", from: r, to: s}
`, []string{`t.yaml:8:29: route name "fanout p->q" is another route's default name: choose another`}},
		{"empty-blank-control-long", `
  - {pattern: fanout, name: "", from: p, to: q}
  - {pattern: fanout, name: " x", from: r, to: s}
  - {pattern: relay, name: "a\tb", members: q}
  - {pattern: relay, name: ` + strings.Repeat("n", 201) + `, members: s}
`, []string{
			`t.yaml:7:29: route name: empty; leave name: out for the default`,
			`t.yaml:8:29: route name " x": no control characters, nor spaces at its ends`,
			`t.yaml:9:28: route name "a\tb": no control characters, nor spaces at its ends`,
			`t.yaml:10:28: route name of 201 bytes: at most 200`,
		}},
		{"not-a-string", `
  - {pattern: fanout, name: [x], from: p, to: [q, r, s]}
`, []string{`t.yaml:7:29: want a string, not a list`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("t.yaml", []byte(eps+tc.routes[1:]))
			wantErrors(t, err, tc.want)
		})
	}
}
