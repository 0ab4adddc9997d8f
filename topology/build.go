package topology

import (
	"fmt"
	"time"

	"github.com/pxroute/pxroute/endpoints"
	"github.com/pxroute/pxroute/opcodes"
)

// New starts a topology built in Go; name labels its errors in place of a
// file name. Add endpoints and routes, then Compile.
func New(name string) *Topology {
	return &Topology{File: name, Engine: "auto", DrainTimeout: DefaultDrainTimeout,
		pos: map[string]pos{"endpoints": {}, "routes": {}}}
}

// AddEndpoint adds an endpoint made with endpoints.New.
func (t *Topology) AddEndpoint(name string, e endpoints.Endpoint) *Topology {
	d := &EndpointDecl{Name: name, Endpoint: e}
	if e != nil {
		d.Kind = e.Kind()
	}
	t.Endpoints = append(t.Endpoints, d)
	return t
}

// AddRoute adds a route. pattern is one of Patterns (a name that is not is
// reported by Compile, as in a file); from, to, members and tap name
// endpoints; leave empty what the pattern does not take.
func (t *Topology) AddRoute(pattern string, r RouteEnds) *Topology {
	rt := &Route{From: Refs(r.From...), To: Refs(r.To...), Members: Refs(r.Members...), Tap: Refs(r.Tap...)}
	if p, ok := PatternByName(pattern); ok {
		rt.Pattern = p
	} else {
		rt.unknownPattern = pattern
	}
	t.Routes = append(t.Routes, rt)
	return t
}

// AddRouteDecl adds a route built in Go with its options set (Topics,
// Overflow, Pick, Names, ...). Compile checks its ends as a file's; the
// values of its options are the caller's to check first (with
// contract.ParseOverflow, contract.CheckHighWater, PickByName, ...), as
// Parse checks a file's. Line and Col, when set, place its errors.
func (t *Topology) AddRouteDecl(rt *Route) *Topology {
	t.Routes = append(t.Routes, rt)
	return t
}

// RouteEnds names the endpoints of a route built in Go.
type RouteEnds struct {
	From, To, Members, Tap []string
}

// Refs makes references to the named endpoints, without positions.
func Refs(names ...string) []Ref {
	out := make([]Ref, len(names))
	for i, n := range names {
		out[i] = Ref{Name: n}
	}
	return out
}

// WithLoops sets the number of loops (0: one per core).
func (t *Topology) WithLoops(n int) *Topology { t.Loops = n; return t }

// WithDrainTimeout sets how long a stop waits for queued output.
func (t *Topology) WithDrainTimeout(d time.Duration) *Topology { t.DrainTimeout = d; return t }

// ValidName reports whether name may name an endpoint: letters, digits,
// '-', '_' and '.'.
func ValidName(name string) bool { return validName(name) }

// CheckLoops checks a number of loops, as loops: in a file.
func CheckLoops(n int) error {
	if n < 0 || n > 256 {
		return fmt.Errorf("loops must be between 0 (one per core) and 256")
	}
	return nil
}

// CheckBusyPoll checks a busy-polling window, as busy_poll: in a file.
func CheckBusyPoll(d time.Duration) error {
	if d < 0 || d > opcodes.MaxBusyPoll {
		return fmt.Errorf("busy_poll must be between 0 (off) and %v", opcodes.MaxBusyPoll)
	}
	return nil
}

// CheckEngine checks an engine's name, as engine: in a file.
func CheckEngine(name string) error {
	if !oneOf(name, Engines()) {
		return fmt.Errorf("unknown engine %q: want auto, io_uring or epoll%s", name, didYouMean(name, Engines()))
	}
	return nil
}
