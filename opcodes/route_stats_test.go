package opcodes

import (
	"strings"
	"testing"
)

// Verify refuses a route table that would count a message twice or under
// no name it can report.
func TestVerifyChecksTheRouteTable(t *testing.T) {
	cases := []struct {
		name   string
		routes []RouteEdges
		want   string // "" : valid
	}{
		{"one-route-per-edge", []RouteEdges{{"a", []uint32{0}}, {"b", []uint32{1}}}, ""},
		{"an-edge-in-no-route", []RouteEdges{{"a", []uint32{0}}}, ""},
		{"names-are-unique", []RouteEdges{{"a", []uint32{0}}, {"a", []uint32{1}}}, `route 1: name "a" taken`},
		{"edge-out-of-range", []RouteEdges{{"a", []uint32{2}}}, "route 0: edge 2 out of range"},
		{"edge-in-two-routes", []RouteEdges{{"a", []uint32{0}}, {"b", []uint32{0, 1}}}, "route 1: edge 0 is route 0's"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &Prog{Inst: []Inst{{Op: OpFail}}, Pos: []Position{{}}, Edges: make([]Edge, 2), Routes: tc.routes}
			err := p.Verify()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Verify: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Verify: %v, want %q", err, tc.want)
			}
		})
	}
}
