package router

import (
	"strings"
	"testing"

	"github.com/pxroute/pxroute/topology"
)

// Every route type takes the name: key as Name, so a Go program names its
// routes' figures (Stats.Route) as a topology file does; a bad name is
// refused by the file's checks, naming the route.
func TestTypedRoutesTakeTheirName(t *testing.T) {
	lines := TCP{Listen: "127.0.0.1:0", Framing: Lines{}}
	up := TCP{Connect: "127.0.0.1:9", Framing: Lines{}}
	eps := map[string]Endpoint{"a": lines, "b": up, "c": up, "d": up, "e": lines, "f": lines, "g": lines,
		"h": lines, "i": lines, "j": lines, "k": lines, "l": lines, "m": lines, "n": lines}
	routes := []Route{
		Bridge{From: "a", To: "b", Name: "r-bridge"},
		Forward{From: "c", To: "d", Name: "r-forward"},
		Fanout{From: []string{"e"}, To: []string{"f"}, Name: "r-fanout"},
		Relay{Members: []string{"g"}, Name: "r-relay"},
		Echo{Members: []string{"h"}, Name: "r-echo"},
		Balance{From: []string{"i"}, To: []string{"j"}, Name: "r-balance"},
		Merge{From: []string{"k"}, To: "l", Name: "r-merge"},
		Request{From: []string{"m"}, To: []string{"n"}, Name: "r-request"},
	}
	got, err := Topology{Endpoints: eps, Routes: routes}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range got.Prog.Routes {
		names = append(names, r.Name)
	}
	want := "r-bridge r-forward r-fanout r-relay r-echo r-balance r-merge r-request"
	if strings.Join(names, " ") != want {
		t.Fatalf("route names %v, want %s", names, want)
	}
	yaml := `
endpoints:
  e: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  f: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: e, to: f, name: r-fanout}
`
	fromFile, err := topology.Load("t.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	typed, err := Topology{Endpoints: map[string]Endpoint{"e": lines, "f": lines},
		Routes: []Route{Fanout{From: []string{"e"}, To: []string{"f"}, Name: "r-fanout"}}}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if g, w := disasm(t, typed), disasm(t, fromFile); g != w {
		t.Errorf("typed program:\n%s\nYAML program:\n%s", g, w)
	}

	bad := []struct {
		name  string
		route Route
		words []string
	}{
		{"taken", Echo{Members: []string{"b"}, Name: "r-bridge"}, []string{"Routes[1] (Echo)", `"r-bridge" is taken`}},
		{"another's-default", Echo{Members: []string{"b"}, Name: "bridge a->c"}, []string{"Routes[1] (Echo)", "default name"}},
		{"spaces-at-its-ends", Echo{Members: []string{"b"}, Name: " x"}, []string{"Routes[1] (Echo)", "spaces at its ends"}},
	}
	for _, c := range bad {
		first := Route(Bridge{From: "a", To: "c", Name: "r-bridge"})
		if c.name == "another's-default" {
			first = Bridge{From: "a", To: "c"}
		}
		_, err := Topology{Endpoints: eps, Routes: []Route{first, c.route}}.Compile()
		if err == nil {
			t.Errorf("%s: compiled", c.name)
			continue
		}
		for _, w := range c.words {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v; want it to say %q", c.name, err, w)
			}
		}
	}
}
