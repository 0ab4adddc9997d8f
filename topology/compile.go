package topology

import (
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints"
	"github.com/pxroute/pxroute/opcodes"
)

// Compiled is a topology ready to run.
type Compiled struct {
	File         string
	Prog         *opcodes.Prog
	Endpoints    []endpoints.Endpoint // indexed like Prog.Endpoints
	Loops        int                  // 0: one per core
	Engine       string
	DrainTimeout time.Duration
	BusyPoll     time.Duration // busy_poll: 0 is off
	Admin        string        // admin HTTP endpoint address; "" for none
	// Topology is what was compiled, for reloads to compare with.
	Topology *Topology
}

// Load parses, checks and compiles a topology. Syntax errors do not hide
// the semantic ones: whatever parsed is checked too, and every error comes
// back in one sorted list.
func Load(file string, data []byte) (*Compiled, error) {
	t, err := Parse(file, data)
	if err != nil {
		if t == nil {
			return nil, err
		}
		_, cerr := check(t)
		return nil, mergeErrors(file, err, cerr)
	}
	return Compile(t)
}

// LoadFile reads and loads the topology at path.
func LoadFile(path string) (*Compiled, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Load(path, data)
}

// Compile checks t and turns its routes into one program.
func Compile(t *Topology) (*Compiled, error) {
	r, err := check(t)
	if err != nil {
		return nil, err
	}
	c := &compiler{
		r:     r,
		prog:  &opcodes.Prog{Inst: []opcodes.Inst{{Op: opcodes.OpFail}}, Pos: []opcodes.Position{{}}},
		index: map[string]uint32{},
		pos:   map[opcodes.Position]uint32{},
		peers: map[peerKey]uint32{},
		joins: map[string][]join{},
	}
	out := &Compiled{File: t.File, Prog: c.prog, Loops: t.Loops, Engine: t.Engine, DrainTimeout: t.DrainTimeout, BusyPoll: t.BusyPoll, Admin: t.Admin, Topology: t}
	for _, d := range t.Endpoints {
		c.index[d.Name] = uint32(len(c.prog.Endpoints))
		c.prog.Endpoints = append(c.prog.Endpoints, d.Name)
		out.Endpoints = append(out.Endpoints, d.Endpoint)
	}
	c.groups()
	c.edges()
	c.routes()
	for _, d := range t.Endpoints {
		c.endpoint(d)
	}
	c.pins()
	decide(c.prog, out.Endpoints)
	if err := c.prog.Verify(); err != nil {
		return nil, fmt.Errorf("%s: internal compiler error: %w", t.File, err)
	}
	return out, nil
}

type peerKey struct {
	route *Route
	name  string
}

type join struct {
	group  uint32
	ref    Ref
	topics uint32 // topic set + 1; 0: no filter
}

// routeEdges are the edge indexes of one route's sends.
type routeEdges struct {
	main, tap, reply uint32
}

type compiler struct {
	r     *resolved
	prog  *opcodes.Prog
	index map[string]uint32
	pos   map[opcodes.Position]uint32
	peers map[peerKey]uint32   // the program of each dialled endpoint, per route
	joins map[string][]join    // groups each endpoint's conns join
	group map[*Route][2]uint32 // route -> its main group, its tap group (+1; 0 = none)
	edge  map[*Route]routeEdges
}

func (c *compiler) at(line, col int) uint32 {
	p := opcodes.Position{File: c.r.t.File, Line: line, Col: col}
	if i, ok := c.pos[p]; ok {
		return i
	}
	i := uint32(len(c.prog.Pos))
	c.prog.Pos = append(c.prog.Pos, p)
	c.pos[p] = i
	return i
}

// emit appends an instruction and returns its pc.
func (c *compiler) emit(in opcodes.Inst) uint32 {
	c.prog.Inst = append(c.prog.Inst, in)
	return uint32(len(c.prog.Inst) - 1)
}

func (c *compiler) next() uint32 { return uint32(len(c.prog.Inst)) + 1 }

// groups names one group for each fanout's to:, relay's members: and tap:.
func (c *compiler) groups() {
	c.group = map[*Route][2]uint32{}
	add := func(rt *Route, i int, what string, refs []Ref) uint32 {
		g := uint32(len(c.prog.Groups))
		c.prog.Groups = append(c.prog.Groups, fmt.Sprintf("route%d.%s", i+1, what))
		for _, ref := range refs {
			c.joins[ref.Name] = append(c.joins[ref.Name], join{group: g, ref: ref, topics: c.topicSet(rt, ref.Name)})
		}
		return g + 1
	}
	for i, rt := range c.r.t.Routes {
		var gs [2]uint32
		if spec := rt.Pattern.spec(); spec.group != "" {
			gs[0] = add(rt, i, spec.group, rt.refs(spec.groupEnd))
			if spec.topics {
				c.feeds(rt.From, gs[0]-1)
			}
		}
		if len(rt.Tap) > 0 {
			gs[1] = add(rt, i, "tap", rt.Tap)
		}
		c.group[rt] = gs
	}
}

// feeds records that the sources' conns send to topic group g: their
// sessions hear of its subscriptions (contract.Upstream).
func (c *compiler) feeds(sources []Ref, g uint32) {
	if c.prog.Feeds == nil {
		c.prog.Feeds = make([][]uint32, len(c.prog.Endpoints))
	}
	for _, ref := range sources {
		ep := c.index[ref.Name]
		if !slices.Contains(c.prog.Feeds[ep], g) {
			c.prog.Feeds[ep] = append(c.prog.Feeds[ep], g)
		}
	}
}

// topicSet returns the topic set (+1) conns of name start with in rt's
// group: its declared prefixes, none at all for an in-band fanout that
// declares none (they subscribe themselves), else 0: everything.
func (c *compiler) topicSet(rt *Route, name string) uint32 {
	if !rt.Pattern.spec().topics {
		return 0
	}
	for _, td := range rt.Topics {
		if td.Name == name {
			c.prog.Topics = append(c.prog.Topics, td.Prefixes)
			return uint32(len(c.prog.Topics))
		}
	}
	if rt.InBand {
		c.prog.Topics = append(c.prog.Topics, []string{})
		return uint32(len(c.prog.Topics))
	}
	return 0
}

// edges makes the edge table: each route's main edge carries its
// overflow settings; a tap never holds its route back unless its own
// endpoint says block; replies to a requester drop rather than stall a
// worker that serves everyone.
func (c *compiler) edges() {
	c.edge = map[*Route]routeEdges{}
	add := func(e opcodes.Edge) uint32 {
		c.prog.Edges = append(c.prog.Edges, e)
		return uint32(len(c.prog.Edges) - 1)
	}
	for _, rt := range c.r.t.Routes {
		spec := rt.Pattern.spec()
		main := opcodes.Edge{Fallback: spec.fallback, HWM: int(rt.HighWater), HWMMsgs: int(rt.HighWaterMsgs)}
		main.Policy, _ = contract.PolicyByName(rt.Overflow)
		main.Pick = rt.Pick.op()
		main.Prefix = rt.Names == NamesAddress || rt.Names == NamesFirstMessage
		// A room whose lines carry "<name> " is read on terminals, and the
		// name is the router's word for who spoke: sanitize unless told not to.
		main.Sanitize = main.Prefix
		if rt.Sanitize != nil {
			main.Sanitize = *rt.Sanitize
		}
		main.Reply = spec.workers
		var es routeEdges
		es.main = add(main)
		if len(rt.Tap) > 0 {
			es.tap = add(opcodes.Edge{Fallback: contract.PolicyDropNewest})
		}
		if spec.workers {
			es.reply = add(opcodes.Edge{Fallback: contract.PolicyDropNewest})
		}
		c.edge[rt] = es
	}
}

// routes names each route and lists its edges, for its figures.
func (c *compiler) routes() {
	for i, name := range routeNames(c.r.t.Routes) {
		es := c.edge[c.r.t.Routes[i]]
		r := opcodes.RouteEdges{Name: name, Edges: []uint32{es.main}}
		if len(c.r.t.Routes[i].Tap) > 0 {
			r.Edges = append(r.Edges, es.tap)
		}
		if c.r.t.Routes[i].Pattern.spec().workers {
			r.Edges = append(r.Edges, es.reply)
		}
		c.prog.Routes = append(c.prog.Routes, r)
	}
}

// pins keeps together, on one loop, the endpoints of every route whose
// senders may block on a group (balance, request, merge, or an overflow:
// block fan-out): a sender can only wait for a queue on its own loop.
// Routes that share an endpoint share the loop.
func (c *compiler) pins() {
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if p, ok := parent[x]; ok && p != x {
			r := find(p)
			parent[x] = r
			return r
		}
		parent[x] = x
		return x
	}
	pinned := false
	for _, rt := range c.r.t.Routes {
		if !c.blocksOnGroup(rt) {
			continue
		}
		pinned = true
		all := append(append(append(append([]Ref{}, rt.From...), rt.To...), rt.Members...), rt.Tap...)
		for _, ref := range all {
			parent[find(ref.Name)] = find(all[0].Name)
		}
	}
	if !pinned {
		return
	}
	c.prog.Pin = make([]int32, len(c.prog.Endpoints))
	sets := map[string]int32{}
	for i, name := range c.prog.Endpoints {
		c.prog.Pin[i] = -1
		if _, ok := parent[name]; !ok {
			continue
		}
		root := find(name)
		if _, ok := sets[root]; !ok {
			sets[root] = int32(len(sets))
		}
		c.prog.Pin[i] = sets[root]
	}
}

// blocksOnGroup says whether a send of rt to a group may block: its
// policy, or a destination endpoint's, resolves to block.
func (c *compiler) blocksOnGroup(rt *Route) bool {
	spec := rt.Pattern.spec()
	if spec.workQueue {
		return true // back-pressure on the workers reaches the producer
	}
	var dests []Ref
	if spec.group != "" {
		dests = rt.refs(spec.groupEnd)
	}
	e := c.prog.Edges[c.edge[rt].main]
	for _, ref := range dests {
		pol := e.Policy
		if d := c.r.decls[ref.Name]; pol == contract.PolicyDefault && d != nil && d.Endpoint != nil {
			pol = d.Endpoint.Settings().Overflow
		}
		if pol == contract.PolicyDefault {
			pol = e.Fallback
		}
		if pol == contract.PolicyBlock {
			return true
		}
	}
	for _, ref := range rt.Tap {
		if d := c.r.decls[ref.Name]; d != nil && d.Endpoint != nil && d.Endpoint.Settings().Overflow == contract.PolicyBlock {
			return true
		}
	}
	return false
}

// endpoint emits the start thread and conn program of one endpoint, unless
// it is only ever dialled (its programs come with the dialling route).
func (c *compiler) endpoint(d *EndpointDecl) {
	var source *Route
	for _, u := range c.r.uses[d.Name] {
		switch u.role {
		case "dial":
			return
		case "source", "worker":
			source = u.route
		}
	}
	where := c.at(d.Line, d.Col)
	op := opcodes.OpOpen
	if d.Endpoint.Role() == contract.RoleListen {
		op = opcodes.OpAccept
	}
	start := c.emit(opcodes.Inst{Op: op, Arg: c.index[d.Name], Pos: where})
	c.prog.Start = append(c.prog.Start, start)
	c.prog.Inst[start].Out = c.conn(d, source, nil)
}

// hangUp is what a group member's end of input does. A connection a
// listener accepted (a subscriber, a relay member) leaves: no new
// messages, what was queued for it goes out whole, then it closes
// (ignore_eof keeps it listening instead). One pxroute opened itself
// closes, which for a connect endpoint keeps its place and queue and
// reconnects.
func (c *compiler) hangUp(d *EndpointDecl, where uint32) opcodes.Inst {
	if d.Endpoint != nil && d.Endpoint.Role() == contract.RoleListen {
		return opcodes.Inst{Op: opcodes.OpShutdown, Mode: opcodes.ToSelf, Pos: where}
	}
	return opcodes.Inst{Op: opcodes.OpClose, Pos: where}
}

// conn emits the program one connection of d runs and returns its entry.
// source is the route d feeds, if any; dialledBy is set for the to: side
// of a bridge or forward, whose conns are made by a dial.
func (c *compiler) conn(d *EndpointDecl, source, dialledBy *Route) uint32 {
	where := c.at(d.Line, d.Col)
	entry := c.emit(opcodes.Inst{Op: opcodes.OpHandle, Pos: where})
	c.prog.Inst[entry].Out = entry + 1
	if dialledBy == nil {
		for _, j := range c.joins[d.Name] {
			c.emit(opcodes.Inst{Op: opcodes.OpJoin, Arg: j.group, Alt: j.topics, Out: c.next(), Pos: c.at(j.ref.Line, j.ref.Col)})
		}
	}
	var peer *EndpointDecl
	if source != nil && source.Pattern.spec().dials {
		ref := source.To[0]
		peer = c.r.decls[ref.Name]
		dial := c.emit(opcodes.Inst{Op: opcodes.OpDial, Arg: c.index[ref.Name], Out: c.next(), Pos: c.at(ref.Line, ref.Col)})
		defer func() { c.prog.Inst[dial].Alt = c.peer(peer, source) }()
	}
	route := source
	if dialledBy != nil {
		route = dialledBy
	}
	c.reader(d, route, dialledBy != nil)
	// Error handler, then the writer thread.
	errPC := c.emit(opcodes.Inst{Op: opcodes.OpError, Out: c.next(), Pos: where})
	c.emit(opcodes.Inst{Op: opcodes.OpClose, Pos: where})
	sentPC := c.emit(opcodes.Inst{Op: opcodes.OpSent, Out: c.next(), Pos: where})
	c.emit(opcodes.Inst{Op: opcodes.OpDrained, Out: c.next(), Pos: where})
	c.emit(opcodes.Inst{Op: opcodes.OpHalt, Pos: where})
	c.prog.Inst[entry].Arg, c.prog.Inst[entry].Alt = errPC, sentPC
	return entry
}

// peer emits (once per route) the program of the dialled side.
func (c *compiler) peer(d *EndpointDecl, rt *Route) uint32 {
	k := peerKey{rt, d.Name}
	if pc, ok := c.peers[k]; ok {
		return pc
	}
	pc := c.conn(d, nil, rt)
	c.peers[k] = pc
	return pc
}

// readerSite is what a pattern's emitter knows of the reader it emits
// for: the endpoint, its route, their positions and the route's edges and
// groups.
type readerSite struct {
	d           *EndpointDecl
	route       *Route
	where, rpos uint32 // positions of d and of the route
	edges       routeEdges
	groups      [2]uint32 // main group, tap group (+1; 0 = none)
	worker      bool      // d is a worker of the route, not a source
}

// reader emits the reader thread. route is the route d's messages go to
// (nil: d only receives); asPeer marks the dialled side of route.
func (c *compiler) reader(d *EndpointDecl, route *Route, asPeer bool) {
	where := c.at(d.Line, d.Col)
	if !d.Endpoint.Readable() {
		c.emit(opcodes.Inst{Op: opcodes.OpHalt, Pos: where})
		return
	}
	var splice uint32
	if c.spliceable(d, route, asPeer) {
		// Zero-copy through a kernel pipe; the copying program below is
		// its fallback for descriptors that cannot splice.
		splice = c.emit(opcodes.Inst{Op: opcodes.OpSplice, Mode: opcodes.ToPeer, Pos: c.at(route.Line, route.Col)})
		c.prog.Inst[splice].Out, c.prog.Inst[splice].Arg = splice, splice+1
	}
	var prologue []uint32 // the pattern's (relay: naming); its last op continues at the main frame
	if route != nil && route.Pattern.spec().prologue != nil {
		prologue = route.Pattern.spec().prologue(c, d, route)
	}
	recv := c.emit(opcodes.Inst{Op: opcodes.OpRecv, Out: c.next(), Pos: where})
	frame := c.emit(opcodes.Inst{Op: opcodes.OpFrame, Out: c.next(), Alt: recv, Pos: where})
	if n := len(prologue); n > 0 {
		c.prog.Inst[prologue[n-1]].Out = frame
	}
	var eof opcodes.Inst
	switch {
	case route == nil || (asPeer && !route.Pattern.spec().bothWays):
		// Only receives: what it sends has nowhere to go, unless it is an
		// in-band subscriber, whose messages change its topics.
		last := uint32(0)
		for _, g := range c.inBandGroups(d) {
			pc := c.emit(opcodes.Inst{Op: opcodes.OpSubscribe, Arg: g, Out: c.next(), Pos: where})
			if last == 0 {
				last = pc
			}
		}
		if last == 0 {
			c.emit(opcodes.Inst{Op: opcodes.OpDiscard, Out: frame, Pos: where})
		} else {
			c.prog.Inst[len(c.prog.Inst)-1].Out = frame
		}
		eof = c.hangUp(d, where)
		if asPeer {
			// A sink dialled for a forward that stops talking may
			// still listen.
			eof = opcodes.Inst{Op: opcodes.OpHalt, Pos: where}
		}
	default:
		spec := route.Pattern.spec()
		site := &readerSite{d: d, route: route, where: where, rpos: c.at(route.Line, route.Col),
			edges: c.edge[route], groups: c.group[route]}
		site.worker = spec.workers && refersTo(route.To, d.Name)
		send := opcodes.Inst{Op: opcodes.OpSend, Out: c.next(), Alt: site.edges.main, Pos: site.rpos}
		eof = spec.emit(c, site, &send)
		pc := c.emit(send)
		if tap := site.groups[1]; tap != 0 && !site.worker {
			pc = c.emit(opcodes.Inst{Op: opcodes.OpSend, Mode: opcodes.ToGroup, Arg: tap - 1, Alt: site.edges.tap, Pos: site.rpos})
		}
		c.prog.Inst[pc].Out = frame
	}
	eofPC := c.emit(eof)
	if eof.Op == opcodes.OpShutdown {
		c.prog.Inst[eofPC].Out = eofPC + 1
		c.emit(opcodes.Inst{Op: opcodes.OpHalt, Pos: where})
	}
	c.prog.Inst[recv].Alt = eofPC
	if splice != 0 {
		c.prog.Inst[splice].Alt = eofPC
	}
	for _, pc := range prologue {
		if c.prog.Inst[pc].Op == opcodes.OpRecv {
			c.prog.Inst[pc].Alt = eofPC
		}
	}
}

// inBandGroups lists the groups of in-band fanouts d receives from.
func (c *compiler) inBandGroups(d *EndpointDecl) []uint32 {
	var gs []uint32
	for _, u := range c.r.uses[d.Name] {
		if u.role == "destination" && u.route.Pattern.spec().topics && u.route.InBand {
			gs = append(gs, c.group[u.route][0]-1)
		}
	}
	return gs
}

func refersTo(refs []Ref, name string) bool {
	for _, r := range refs {
		if r.Name == name {
			return true
		}
	}
	return false
}

// spliceable says whether d's bytes can go to its peer by splice: a raw
// bridge or forward (bytes pass unchanged, no framing to look at) with no
// tap (a tap needs the bytes in user space), on the side that sends.
// A TLS side may splice too: whether it does is the machine's choice per
// connection, at run time (opcodes' splice: only once the kernel seals
// its records, kernel TLS; never while its handshake runs or when the
// loop seals them), with the copying program as the fallback.
func (c *compiler) spliceable(d *EndpointDecl, route *Route, asPeer bool) bool {
	if route == nil || len(route.Tap) > 0 || d.Endpoint.Settings().Framing.Boundaries() {
		return false
	}
	if spec := route.Pattern.spec(); !(asPeer && spec.splicePeer || !asPeer && spec.spliceFrom) {
		return false
	}
	other := route.To[0].Name
	if asPeer {
		other = route.From[0].Name
	}
	o := c.r.decls[other]
	return o != nil && o.Endpoint != nil && !o.Endpoint.Settings().Framing.Boundaries()
}
