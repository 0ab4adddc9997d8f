package topology

import (
	"fmt"
	"os"
	"time"

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
	out := &Compiled{File: t.File, Prog: c.prog, Loops: t.Loops, Engine: t.Engine, DrainTimeout: t.DrainTimeout}
	for _, d := range t.Endpoints {
		c.index[d.Name] = uint32(len(c.prog.Endpoints))
		c.prog.Endpoints = append(c.prog.Endpoints, d.Name)
		out.Endpoints = append(out.Endpoints, d.Endpoint)
	}
	c.groups()
	for _, d := range t.Endpoints {
		c.endpoint(d)
	}
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
	group uint32
	ref   Ref
}

type compiler struct {
	r     *resolved
	prog  *opcodes.Prog
	index map[string]uint32
	pos   map[opcodes.Position]uint32
	peers map[peerKey]uint32   // the program of each dialled endpoint, per route
	joins map[string][]join    // groups each endpoint's conns join
	group map[*Route][2]uint32 // route -> its main group, its tap group (+1; 0 = none)
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
			c.joins[ref.Name] = append(c.joins[ref.Name], join{group: g, ref: ref})
		}
		return g + 1
	}
	for i, rt := range c.r.t.Routes {
		var gs [2]uint32
		switch rt.Pattern {
		case "fanout":
			gs[0] = add(rt, i, "to", rt.To)
		case "relay":
			gs[0] = add(rt, i, "members", rt.Members)
		}
		if len(rt.Tap) > 0 {
			gs[1] = add(rt, i, "tap", rt.Tap)
		}
		c.group[rt] = gs
	}
}

// endpoint emits the start thread and conn program of one endpoint, unless
// it is only ever dialled (its programs come with the dialling route).
func (c *compiler) endpoint(d *EndpointDecl) {
	var source *Route
	for _, u := range c.r.uses[d.Name] {
		switch u.role {
		case "dial":
			return
		case "source":
			source = u.route
		}
	}
	where := c.at(d.Line, d.Col)
	op := opcodes.OpOpen
	if d.Endpoint.Mode() == endpoints.Listen {
		op = opcodes.OpAccept
	}
	start := c.emit(opcodes.Inst{Op: op, Arg: c.index[d.Name], Pos: where})
	c.prog.Start = append(c.prog.Start, start)
	c.prog.Inst[start].Out = c.conn(d, source, nil)
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
			c.emit(opcodes.Inst{Op: opcodes.OpJoin, Arg: j.group, Out: c.next(), Pos: c.at(j.ref.Line, j.ref.Col)})
		}
	}
	var peer *EndpointDecl
	if source != nil && (source.Pattern == "bridge" || source.Pattern == "forward") {
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
	recv := c.emit(opcodes.Inst{Op: opcodes.OpRecv, Out: c.next(), Pos: where})
	frame := c.emit(opcodes.Inst{Op: opcodes.OpFrame, Out: c.next(), Alt: recv, Pos: where})
	var eof opcodes.Inst
	switch {
	case route == nil || (asPeer && route.Pattern == "forward"):
		// Only receives: what it sends has nowhere to go.
		c.emit(opcodes.Inst{Op: opcodes.OpDiscard, Out: frame, Pos: where})
		eof = opcodes.Inst{Op: opcodes.OpClose, Pos: where}
		if asPeer {
			eof = opcodes.Inst{Op: opcodes.OpHalt, Pos: where} // a sink that stops talking may still listen
		}
	default:
		rpos := c.at(route.Line, route.Col)
		send := opcodes.Inst{Op: opcodes.OpSend, Out: c.next(), Pos: rpos}
		gs := c.group[route]
		switch route.Pattern {
		case "bridge", "forward":
			send.Mode = opcodes.ToPeer
			eof = opcodes.Inst{Op: opcodes.OpShutdown, Mode: opcodes.ToPeer, Pos: rpos}
		case "echo":
			send.Mode = opcodes.ToSelf
			eof = opcodes.Inst{Op: opcodes.OpShutdown, Mode: opcodes.ToSelf, Pos: rpos}
		case "fanout":
			send.Mode, send.Arg = opcodes.ToGroup, gs[0]-1
			eof = opcodes.Inst{Op: opcodes.OpClose, Pos: where}
		case "relay":
			send.Mode, send.Arg = opcodes.ToOthers, gs[0]-1
			eof = opcodes.Inst{Op: opcodes.OpClose, Pos: where}
		}
		pc := c.emit(send)
		if gs[1] != 0 {
			pc = c.emit(opcodes.Inst{Op: opcodes.OpSend, Mode: opcodes.ToGroup, Arg: gs[1] - 1, Pos: rpos})
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
}

// spliceable says whether d's bytes can go to its peer by splice: a raw
// bridge or forward (bytes pass unchanged, no framing to look at) with no
// tap (a tap needs the bytes in user space), on the side that sends.
func (c *compiler) spliceable(d *EndpointDecl, route *Route, asPeer bool) bool {
	if route == nil || len(route.Tap) > 0 || d.Endpoint.Options().Framing.Boundaries() {
		return false
	}
	switch {
	case route.Pattern == "bridge":
	case route.Pattern == "forward" && !asPeer:
	default:
		return false
	}
	other := route.To[0].Name
	if asPeer {
		other = route.From[0].Name
	}
	o := c.r.decls[other]
	return o != nil && o.Endpoint != nil && !o.Endpoint.Options().Framing.Boundaries()
}
