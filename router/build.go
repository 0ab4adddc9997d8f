package router

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/topology"
)

// Topology is a topology in Go: typed endpoints and routes, and the
// top-level settings of a topology file. Zero fields are the file's
// defaults.
type Topology struct {
	// Name labels the topology in logs and the program's disassembly.
	// Default "embedded".
	Name string
	// Endpoints maps names (letters, digits, '-', '_', '.') to endpoints;
	// they are added in name order, so their ids are the same each build.
	Endpoints map[string]Endpoint
	// Routes connect the endpoints; at least one.
	Routes []Route
	// Loops (loops) is the number of event loops, 0 to 256; 0 is one per
	// core. Options.Loops overrides it.
	Loops int
	// Engine (engine) is "auto", "io_uring" or "epoll". Default "auto".
	Engine string
	// DrainTimeout (drain_timeout) is how long a stop waits for queued
	// output. Default 5s.
	DrainTimeout time.Duration
	// BusyPoll (busy_poll) is how long each loop keeps polling without
	// sleeping after its last work, 0 to 10ms. Default 0: off.
	BusyPoll time.Duration
	// Admin, AdminPublic and AdminTokenFile (admin, admin_public,
	// admin_token_file) are the admin HTTP endpoint, as in a file.
	Admin          string
	AdminPublic    bool
	AdminTokenFile string
}

// Build checks t with the validators a topology file goes through,
// compiles it, and returns a router that runs it. Every error is
// returned at once, each naming the Go value it is about:
//
//	Endpoints["subs"] (TCP).MaxFrame: max_frame must be between 1 byte and 1TiB
//	Routes[1] (Fanout).To[0]: unknown endpoint "lobby"
func Build(t Topology, opts Options) (*Router, error) {
	c, err := t.Compile()
	if err != nil {
		return nil, err
	}
	return New(c, opts), nil
}

// Compile checks and compiles t, as Build does, without making a router.
func (t Topology) Compile() (*topology.Compiled, error) {
	name := t.Name
	if name == "" {
		name = "embedded"
	}
	tp := topology.New(name)
	b := &builder{t: tp, at: map[[2]int]string{{0, 0}: "Topology"}, routeAt: map[int]string{}}
	b.settings(t)
	names := make([]string, 0, len(t.Endpoints))
	for n := range t.Endpoints {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b.endpoint(n, t.Endpoints[n])
	}
	for i, r := range t.Routes {
		b.route(i, r)
	}
	// Check places its errors by line and column: each endpoint and
	// route has a line of its own, each endpoint it names a column, and
	// b.at says which Go value each place is.
	if err := topology.Check(tp); err != nil {
		b.checkErrors(err)
	}
	if len(b.errs) > 0 {
		return nil, errors.Join(b.errs...)
	}
	// Built in Go, the program points at no file lines.
	unplace(tp)
	return topology.Compile(tp)
}

// builder turns a Topology into a topology.Topology, gathering errors.
type builder struct {
	t       *topology.Topology
	errs    []error
	line    int
	at      map[[2]int]string // line, col -> the Go value there
	routeAt map[int]string    // a route's line -> its name
}

func (b *builder) errorf(at, format string, args ...any) {
	b.errs = append(b.errs, fmt.Errorf("%s: %s", at, fmt.Sprintf(format, args...)))
}

// settings takes the top-level settings, checked as a file's are.
func (b *builder) settings(t Topology) {
	if err := topology.CheckLoops(t.Loops); err != nil {
		b.errorf("Topology.Loops", "%v", err)
	}
	b.t.Loops = t.Loops
	if t.Engine != "" {
		if err := topology.CheckEngine(t.Engine); err != nil {
			b.errorf("Topology.Engine", "%v", err)
		}
		b.t.Engine = t.Engine
	}
	switch {
	case t.DrainTimeout < 0:
		b.errorf("Topology.DrainTimeout", "drain_timeout must not be negative")
	case t.DrainTimeout > 0:
		b.t.DrainTimeout = t.DrainTimeout
	}
	if err := topology.CheckBusyPoll(t.BusyPoll); err != nil {
		b.errorf("Topology.BusyPoll", "%v", err)
	}
	b.t.BusyPoll = t.BusyPoll
	if t.Admin != "" {
		if err := topology.CheckAdminAddr(t.Admin, t.AdminPublic); err != nil {
			b.errorf("Topology.Admin", "admin: %v", err)
		}
	}
	if t.AdminPublic && t.AdminTokenFile == "" {
		b.errorf("Topology.AdminPublic", "admin_public: true needs admin_token_file: a public admin endpoint requires a bearer token")
	}
	b.t.Admin, b.t.AdminPublic, b.t.AdminTokenFile = t.Admin, t.AdminPublic, t.AdminTokenFile
}

// endpoint builds one endpoint with its kind's factory.
func (b *builder) endpoint(name string, e Endpoint) {
	at := endpointAt(name, e)
	if !topology.ValidName(name) {
		b.errorf(at, "endpoint name %q: use letters, digits, '-', '_' and '.'", name)
	}
	ep, err := newTyped(name, e)
	if err != nil {
		b.errs = append(b.errs, err)
	}
	b.t.AddEndpoint(name, ep)
	b.line++
	d := b.t.Endpoints[len(b.t.Endpoints)-1]
	d.Line, d.Col = b.line, 1
	b.at[[2]int{b.line, 1}] = at
}

// route adds one route, its option values checked as a file's are.
func (b *builder) route(i int, r Route) {
	if isNil(r) {
		b.errorf(fmt.Sprintf("Routes[%d]", i), "nil Route")
		return
	}
	k := r.route()
	at := fmt.Sprintf("Routes[%d] (%s)", i, k.typ)
	p, _ := topology.PatternByName(k.pattern)
	b.line++
	rt := &topology.Route{Pattern: p, Line: b.line, Col: 1}
	b.at[[2]int{b.line, 1}] = at
	b.routeAt[b.line] = at
	col := 1
	refs := func(field string, names []string, single bool) []topology.Ref {
		out := topology.Refs(names...)
		for j := range out {
			col++
			out[j].Line, out[j].Col = b.line, col
			if single {
				b.at[[2]int{b.line, col}] = at + "." + field
			} else {
				b.at[[2]int{b.line, col}] = fmt.Sprintf("%s.%s[%d]", at, field, j)
			}
		}
		return out
	}
	rt.From = refs("From", k.from, k.oneFrom)
	rt.To = refs("To", k.to, k.oneTo)
	rt.Members = refs("Members", k.members, false)
	rt.Tap = refs("Tap", k.tap, false)
	for _, dest := range slices.Sorted(maps.Keys(k.topics)) {
		col++
		b.at[[2]int{b.line, col}] = fmt.Sprintf("%s.Topics[%q]", at, dest)
		rt.Topics = append(rt.Topics, topology.TopicsDecl{
			Ref: topology.Ref{Name: dest, Line: b.line, Col: col}, Prefixes: k.topics[dest]})
	}
	b.options(at, k, rt)
	b.t.AddRouteDecl(rt)
}

// options checks a route's option values with the validators a file's
// go through, and sets them.
func (b *builder) options(at string, k routeKeys, rt *topology.Route) {
	if s := k.flow.Overflow; s != "" {
		if _, err := contract.ParseOverflow(s); err != nil {
			b.errorf(at+".Overflow", "%v", err)
		}
		rt.Overflow = s
	}
	if n := k.flow.HighWater; n != 0 {
		if err := contract.CheckHighWater(n); err != nil {
			b.errorf(at+".HighWater", "%v", err)
		}
		rt.HighWater = n
	}
	if n := k.flow.HighWaterMsgs; n != 0 {
		if err := contract.CheckHighWaterMsgs(n); err != nil {
			b.errorf(at+".HighWaterMsgs", "%v", err)
		}
		rt.HighWaterMsgs = n
	}
	if k.pick != "" {
		pk, ok := topology.PickByName(k.pick)
		if !ok {
			b.errorf(at+".Pick", "unknown pick %q: want one of %v", k.pick, topology.Picks())
		}
		rt.Pick = pk
	}
	if k.names != "" {
		ns, ok := topology.NameSourceByName(k.names)
		if !ok {
			b.errorf(at+".Names", "unknown names %q: want one of %v", k.names, topology.NameSources())
		}
		rt.Names = ns
	}
	rt.InBand, rt.Notices, rt.Sanitize = k.inBand, k.notices, k.sanitize
	rt.Name = k.name // checked with the other routes' names (topology.Check)
}

// lineRef is how Check's messages point at another route.
var lineRef = regexp.MustCompile(`route at line (\d+)`)

// checkErrors words Check's errors by the Go values they are about.
func (b *builder) checkErrors(err error) {
	list := topology.Errors(err)
	if len(list) == 0 {
		b.errs = append(b.errs, err)
		return
	}
	for _, e := range list {
		msg := lineRef.ReplaceAllStringFunc(e.Msg, func(m string) string {
			n, _ := strconv.Atoi(lineRef.FindStringSubmatch(m)[1])
			if at, ok := b.routeAt[n]; ok {
				return "route " + at
			}
			return m
		})
		at, ok := b.at[[2]int{e.Pos.Line, e.Pos.Col}]
		if !ok {
			at = "Topology"
		}
		b.errorf(at, "%s", msg)
	}
}

// unplace clears the places builder gave, once checked.
func unplace(t *topology.Topology) {
	for _, d := range t.Endpoints {
		d.Line, d.Col = 0, 0
	}
	zero := func(refs []topology.Ref) {
		for i := range refs {
			refs[i].Line, refs[i].Col = 0, 0
		}
	}
	for _, rt := range t.Routes {
		rt.Line, rt.Col = 0, 0
		zero(rt.From)
		zero(rt.To)
		zero(rt.Members)
		zero(rt.Tap)
		for i := range rt.Topics {
			rt.Topics[i].Line, rt.Topics[i].Col = 0, 0
		}
	}
}
