package opcodes

import "fmt"

// Op is an async opcode. Values are pinned by a test: golden disassembly and
// saved programs depend on them.
type Op uint8

const (
	OpFail      Op = iota // pc 0: never a target; reaching it is a compiler bug
	OpAccept              // listener thread: accept on endpoint Arg; each conn runs from Out
	OpOpen                // start thread: open or connect endpoint Arg; the conn runs from Out; Flags reconnect: kept and reconnected when lost
	OpDial                // make a peer for this conn on endpoint Arg; the peer runs from Alt; go to Out
	OpHandle              // set this conn's error handler (Arg) and send-complete handler (Alt); go to Out; Flags: what closing it entails
	OpJoin                // join group Arg; go to Out
	OpRecv                // park until bytes arrive: data -> Out, end of stream -> Alt
	OpFrame               // split the next message off the input: message -> Out, need more bytes -> Alt; Flags run or cut: Arg is the send at Out
	OpSend                // send the current message to Mode/Arg, writing inline first; go to Out
	OpDiscard             // count the current message as dropped (no route); go to Out
	OpSent                // send complete: keep flushing the queue, resume throttled readers; go to Out
	OpShutdown            // half-close: Mode's write side shuts down once its queue drains; go to Out
	OpDrained             // maybe-shutdown: act on a requested half-close or close once the queue is empty; go to Out
	OpError               // handle error: count this conn's failure by reason; go to Out
	OpClose               // close this conn and leave its groups
	OpJump                // go to Out
	OpHalt                // end this thread; the conn stays
	OpSplice              // move bytes to the peer through a kernel pipe, no copy: progress -> Out, end of stream -> Alt; cannot splice -> Arg
	OpSubscribe           // the current message changes this conn's topics in group Arg (+prefix or \x01prefix adds, -prefix or \x00prefix removes); go to Out
	OpName                // name this conn: Arg NameFromAddress (its peer's address) or NameFromMessage (the current message), unique among group Alt-1's members (Alt 0: no group); go to Out
	OpAnnounce            // tell group Arg's other members (edge Alt) that this conn joined, and later that it left; go to Out
	NumOps                // number of opcodes
)

var opNames = [NumOps]string{
	OpFail:      "fail",
	OpAccept:    "accept",
	OpOpen:      "open",
	OpDial:      "dial",
	OpHandle:    "handle",
	OpJoin:      "join",
	OpRecv:      "recv",
	OpFrame:     "frame",
	OpSend:      "send",
	OpDiscard:   "discard",
	OpSent:      "sent",
	OpShutdown:  "shutdown",
	OpDrained:   "drained",
	OpError:     "error",
	OpClose:     "close",
	OpJump:      "jump",
	OpHalt:      "halt",
	OpSplice:    "splice",
	OpSubscribe: "subscribe",
	OpName:      "name",
	OpAnnounce:  "announce",
}

// What OpName takes a name from.
const (
	NameFromAddress = 0
	NameFromMessage = 1
)

func (op Op) String() string {
	if op < NumOps {
		return opNames[op]
	}
	return fmt.Sprintf("op(%d)", uint8(op))
}

// Mode says whom OpSend and OpShutdown address.
type Mode uint8

const (
	ToNone      Mode = iota
	ToPeer           // the conn paired with this one by OpDial
	ToSelf           // this conn (echo)
	ToGroup          // every member of group Arg
	ToOthers         // every member of group Arg but this conn (relay)
	ToOne            // one member of group Arg, picked by the edge (balance, request)
	ToRequester      // the conn whose request this worker is answering (request/reply)
	NumModes
)

var modeNames = [NumModes]string{"", "peer", "self", "group", "others", "one", "requester"}

func (m Mode) String() string {
	if m < NumModes {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// Flag is a decision the compiler made for an instruction, which the
// Machine acts on without looking at other instructions.
type Flag uint8

const (
	// FlagRun, on frame: the send at Arg (Out) is a group send that
	// loops back to this frame, so the rest of a read is framed and sent
	// to the group as one run (batch.go).
	FlagRun Flag = 1 << iota
	// FlagCut, on frame: the send at Arg (Out) goes to one conn (peer or
	// self) and nothing else needs the message whole, so a large
	// length-prefixed message may be cut through (stream.go).
	FlagCut
	// FlagReconnect, on open: the conn it makes is kept when its
	// connection is lost: its place and queue stay while a new
	// connection is made after a backoff (connecting.go).
	FlagReconnect
	// At-close flags, on handle: what closing the conn entails beyond
	// leaving its groups (closing.go). FlagAnnounce: tell the groups it
	// announced itself to that it left. FlagPeer: its peer (bridge,
	// forward) follows it out once drained. FlagRequests: count the
	// requests it held unanswered, as a worker or a requester.
	FlagAnnounce
	FlagPeer
	FlagRequests
	numFlags
)

// atCloseFlags are the flags handle may carry.
const atCloseFlags = FlagAnnounce | FlagPeer | FlagRequests

var flagNames = []string{"run", "cut", "reconnect", "announce", "peer", "requests"}

func (f Flag) String() string {
	var out []byte
	for i, name := range flagNames {
		if f&(1<<i) != 0 {
			if len(out) > 0 {
				out = append(out, ',')
			}
			out = append(out, name...)
		}
	}
	return string(out)
}

// Inst is one instruction. Which fields an op reads is listed at its
// constant; unused fields are zero.
type Inst struct {
	Op    Op
	Mode  Mode   // send, shutdown
	Flags Flag   // frame: run or cut (Arg: the send); open: reconnect; handle: at-close actions
	Out   uint32 // next pc; accept and open: where each conn starts
	Alt   uint32 // recv, splice: end of stream; frame: need more; dial: the peer's start; handle: send-complete handler; send, announce: edge; join: topic set + 1; name: group + 1
	Arg   uint32 // endpoint (accept, open, dial), group (join, send, shutdown, subscribe, announce), error handler (handle), fallback (splice), source (name)
	Pos   uint32 // index into Prog.Pos: where in the topology this came from
}

// Position is a place in a topology file.
type Position struct {
	File      string
	Line, Col int
}

func (p Position) String() string {
	switch {
	case p.Line == 0 && p.File == "":
		return "-"
	case p.Line == 0: // built in Go: no line to point at
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Prog is a compiled topology: flat, immutable once built, shared by every
// loop. Per-connection state lives in each loop's Machine.
type Prog struct {
	Inst      []Inst
	Start     []uint32   // pcs of the accept and open threads run at start
	Endpoints []string   // endpoint names, indexed by Arg of accept, open, dial
	Groups    []string   // group names, indexed by Arg of join, send, shutdown
	Pos       []Position // indexed by Inst.Pos; Pos[0] is "unknown"
	Edges     []Edge     // indexed by Alt of send and announce
	// Routes names the routes and the edges of each, for their figures;
	// an edge in none is counted but reported under no route.
	Routes []RouteEdges
	Topics [][]string // topic prefix sets, indexed by Alt-1 of join (0: no filter)
	// Feeds lists, per endpoint, the fan-out groups its conns send to:
	// their sessions hear of the groups' subscriptions (contract.Upstream,
	// upstream.go). Absent or shorter than Endpoints: none.
	Feeds [][]uint32
	// Pin keeps each endpoint's conns on one loop: Pin[ep] >= 0 puts them
	// all on loop Pin[ep] mod loops (routes whose senders block on a group
	// need their conns together); -1 or absent spreads them.
	Pin []int32
}
