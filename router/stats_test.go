package router

import (
	"testing"

	"github.com/pxroute/pxroute/opcodes"
)

func TestStatsLookUpFiguresByName(t *testing.T) {
	s := Stats{
		Endpoints: []EndpointStats{{Name: "pub", MsgsIn: 3}, {Name: "subs", MsgsOut: 6}},
		Routes:    []RouteStats{{Name: "fanout pub->subs", Offered: 6}, {Name: "audit", Offered: 3}},
	}
	cases := []struct {
		name     string
		endpoint EndpointStats
		route    RouteStats
		wantName string
		want     uint64
	}{
		{"endpoint-first", s.Endpoint("pub"), RouteStats{}, "pub", 3},
		{"endpoint-second", s.Endpoint("subs"), RouteStats{}, "subs", 6},
		{"endpoint-missing-is-zero-with-no-name", s.Endpoint("nope"), RouteStats{}, "", 0},
		{"route-default-name", EndpointStats{}, s.Route("fanout pub->subs"), "fanout pub->subs", 6},
		{"route-given-name", EndpointStats{}, s.Route("audit"), "audit", 3},
		{"route-missing-is-zero-with-no-name", EndpointStats{}, s.Route("fanout"), "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name, n := tc.endpoint.Name, tc.endpoint.MsgsIn+tc.endpoint.MsgsOut
			if tc.endpoint.Name == "" {
				name, n = tc.route.Name, tc.route.Offered
			}
			if name != tc.wantName || n != tc.want {
				t.Fatalf("got %q with %d, want %q with %d", name, n, tc.wantName, tc.want)
			}
		})
	}
}

// statsOf copies every figure, and no map the runtime may write again.
func TestStatsOfCopiesTheRuntimeFigures(t *testing.T) {
	in := opcodes.Stats{
		Engine:    "epoll",
		Loops:     []opcodes.LoopStats{{ID: 0, Completions: 7, InTransit: 2}},
		Endpoints: []opcodes.EndpointStats{{Name: "a", Offered: 4, MsgsOut: 3, QueuedMsgs: 1, Drops: map[string]uint64{"hwm": 0}}},
		Routes:    []opcodes.RouteStats{{Name: "r", Offered: 4, Drops: map[string]uint64{"hwm": 1}, Lost: map[string]uint64{"no_route": 2}}},
		Ops:       map[string]uint64{"send": 5},
	}
	out := statsOf(in)
	in.Routes[0].Drops["hwm"], in.Endpoints[0].Drops["hwm"], in.Ops["send"] = 9, 9, 9
	e, r := out.Endpoint("a"), out.Route("r")
	if out.Engine != "epoll" || out.Loops[0].Completions != 7 || out.Loops[0].InTransit != 2 || out.Ops["send"] != 5 ||
		e.Offered != 4 || e.MsgsOut != 3 || e.QueuedMsgs != 1 || e.Drops["hwm"] != 0 ||
		r.Offered != 4 || r.Drops["hwm"] != 1 || r.Lost["no_route"] != 2 {
		t.Fatalf("statsOf(%+v) = %+v", in, out)
	}
}

// Route figures of generations side by side add up by name.
func TestStatsSumAddsRoutesByName(t *testing.T) {
	var sum statsSum
	sum.add(Stats{Routes: []RouteStats{{Name: "r", Offered: 2, Drops: map[string]uint64{"hwm": 1}}}})
	sum.add(Stats{Routes: []RouteStats{{Name: "q", Offered: 1}, {Name: "r", Offered: 3, Drops: map[string]uint64{"hwm": 2}}}})
	if len(sum.s.Routes) != 2 || sum.s.Route("r").Offered != 5 || sum.s.Route("r").Drops["hwm"] != 3 || sum.s.Route("q").Offered != 1 {
		t.Fatalf("summed %+v", sum.s.Routes)
	}
}
