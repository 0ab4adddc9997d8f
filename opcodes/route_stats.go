package opcodes

import (
	"fmt"
	"sync/atomic"
)

// Route figures. Every send names its edge, and every edge belongs to one
// route (Prog.Routes), so what a send does with a message is counted on
// its edge where it is decided, beside the endpoint's figures: one array
// increment. A route's figures are its edges' summed. They count only
// what is known when the message is sent, never guessed from endpoint
// figures that several routes share.

// RouteEdges names one route and lists the edges its sends use.
type RouteEdges struct {
	Name  string
	Edges []uint32 // indexes into Prog.Edges
}

// edgeCounters are one loop's figures for one edge: plain fields written
// only by the loop, published once a turn like epCounters.
type edgeCounters struct {
	Offered uint64           // messages handed to a destination connection, one per destination
	Drops   [NumDrops]uint64 // of those, refused as they were offered (hwm, disconnect, max_frame)
	Lost    [NumDrops]uint64 // messages read that reached no destination (no_route, max_frame, disconnect)
}

type edgePublished struct {
	Offered atomic.Uint64
	Drops   [NumDrops]atomic.Uint64
	Lost    [NumDrops]atomic.Uint64
}

func (p *edgePublished) store(c *edgeCounters) {
	p.Offered.Store(c.Offered)
	for i := range c.Drops {
		p.Drops[i].Store(c.Drops[i])
		p.Lost[i].Store(c.Lost[i])
	}
}

// RouteStats are a route's figures summed over its edges and loops.
type RouteStats struct {
	Name    string
	Offered uint64
	Drops   map[string]uint64
	Lost    map[string]uint64
}

// publishEdges copies the edges' changed counters to their atomics.
func (m *Machine) publishEdges() {
	for i := range m.edgeFigs {
		if m.edgeFigs[i] != m.lastEdgeFigs[i] {
			m.pub.edges[i].store(&m.edgeFigs[i])
			m.lastEdgeFigs[i] = m.edgeFigs[i]
		}
	}
}

// routeStats returns each route's figures, zero, for addEdges to sum.
func (rt *Runtime) routeStats() []RouteStats {
	out := make([]RouteStats, len(rt.prog.Routes))
	for i, r := range rt.prog.Routes {
		s := RouteStats{Name: r.Name, Drops: make(map[string]uint64, NumDrops), Lost: make(map[string]uint64, NumDrops)}
		for _, d := range dropNames {
			s.Drops[d], s.Lost[d] = 0, 0
		}
		out[i] = s
	}
	return out
}

// addEdges adds one loop's edge figures (machinePub.figures) to each
// route's.
func (rt *Runtime) addEdges(out []RouteStats, edges []edgeCounters) {
	for i, r := range rt.prog.Routes {
		s := &out[i]
		for _, e := range r.Edges {
			c := &edges[e]
			s.Offered += c.Offered
			for d := range NumDrops {
				s.Drops[d.String()] += c.Drops[d]
				s.Lost[d.String()] += c.Lost[d]
			}
		}
	}
}

// verifyRoutes checks that route names are unique and that each edge is
// in range and in one route at most, so that no message counts twice.
func (p *Prog) verifyRoutes() []error {
	var errs []error
	names := make(map[string]bool, len(p.Routes))
	owner := make(map[uint32]int, len(p.Edges))
	for i, r := range p.Routes {
		if names[r.Name] {
			errs = append(errs, fmt.Errorf("verify: route %d: name %q taken", i, r.Name))
		}
		names[r.Name] = true
		for _, e := range r.Edges {
			if e >= uint32(len(p.Edges)) {
				errs = append(errs, fmt.Errorf("verify: route %d: edge %d out of range", i, e))
			} else if j, ok := owner[e]; ok {
				errs = append(errs, fmt.Errorf("verify: route %d: edge %d is route %d's", i, e, j))
			} else {
				owner[e] = i
			}
		}
	}
	return errs
}
