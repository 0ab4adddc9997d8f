package opcodes

import (
	"github.com/pxroute/pxroute/contract"

	"github.com/pxroute/pxroute/completion"
)

// conn is one connection's state on its loop: two threads of the program
// (reader at rpc, writer at wpc), its input carry-over and its output queue.
type conn struct {
	slot, gen uint32
	fd        int
	terms     *terms // its endpoint's settings, shared (terms.go)

	rpc, epc, wpc uint32 // reader pc, error handler, send-complete handler
	start         uint32 // the open thread that made it (singletons), else 0
	ep            uint32

	life        lifecycle
	atClose     Flag      // what closing it entails: its program's handle says (closing.go)
	shut        shutState // its write side: half-close asked for, done
	counted     bool      // holds a place in its listener's max_conns
	lastIO      int64     // unix nanoseconds of its last read or write, when idleTimed
	partialAt   int64     // unix nanoseconds since a message has been arriving; 0: none
	recvPending bool
	blocked     bool // a send blocked on a full queue: read no more until it drains
	parked      bool // reader stopped at recv or frame because it is blocked
	readDone    bool
	peerGone    bool // its peer closed: close once drained
	failed      bool // an error is pending; the reader jumps to epc
	failDrop    Drop
	lingerDrop  Drop // why it closed: what that write did not finish is dropped so
	sending     bool // a port Send is in flight
	dirty       bool // queued this turn: in Machine.dirty for the turn's flush
	inline      bool // pollable: a write may be tried inline (never for regular files)
	secureBroke bool // its TLS failed (secure.go); it ends no episode
	// lastSent is the bytes the last send completion reported (a
	// kernel's write moves less than 2 GiB at once).
	lastSent int32

	// Input: cur is what is left to frame, backed by buf (a port buffer)
	// or by in (carry-over of a partial message; see input.go).
	in    []byte
	cur   []byte
	buf   *completion.Buf
	msg   []byte // the current message's wire bytes
	lo    int    // payload bounds inside msg (the first part's, multipart)
	hi    int
	parts []contract.Part // a multipart framing's parts in msg; nil otherwise (message.go)
	// scanned: no message end begins in cur[:scanned] (Resumer).
	scanned int

	// Output: what is queued for this conn, by block and by message.
	out  outQueue
	iovs [][]byte // the blocks of the send in flight; reused

	peer   *conn
	groups []uint32

	// waits is the senders blocked on this conn's queue; nil until one
	// first blocks (most conns never hold one back, and every idle conn
	// would carry the fields).
	waits    *waiters
	inflight int // bytes of the queue in a port Send: not droppable

	ro   *roles   // its parts in topics, relay names and request/reply; nil: none
	sess *session // its protocol's session (session.go); nil: a plain stream

	// securing cancels its handshake while one runs off the loop
	// (secure.go); nil otherwise.
	securing func()

	bulk *bulk // splice and cut-through state; nil until first used

	// retry is a reconnecting conn's backoff, from its first failure to
	// its next connection; nil otherwise (most conns never need one, and
	// every idle conn would carry it).
	retry *contract.BackoffState
}

func (c *conn) queued() int { return c.out.len() }

// waiters is the senders blocked on a conn's queue, woken when it is down
// to the resume marks.
type waiters struct {
	refs   []connRef
	resume marks
}

// lifecycle is where a conn is in its life. A conn pxroute connects goes
// connecting -> live, and on a loss down -> connecting -> live again
// (connecting.go); every conn ends lingering (a write under way must say
// how far it got, closing.go) or straight closed.
type lifecycle uint8

const (
	connLive       lifecycle = iota // connected: it reads and writes
	connConnecting                  // connect in flight: sends only queue
	connDown                        // lost, waiting to reconnect: sends queue up to the marks
	connLingering                   // closed, its descriptor open until a write under way completes
	connClosed                      // closed for good
)

// connecting: not connected yet (or again), so sends only queue.
func (c *conn) connecting() bool { return c.life == connConnecting || c.life == connDown }

// down: lost, with no descriptor until the reconnect timer fires.
func (c *conn) down() bool { return c.life == connDown }

// closed: closed to everything, lingering or not.
func (c *conn) closed() bool { return c.life >= connLingering }

// shutState is the write side's half-close: asked for (once the queue
// drains), then done.
type shutState uint8

const (
	shutNone shutState = iota
	shutWanted
	shutDone
)

// askShut asks for a half-close once the queue drains; one already done
// stays done.
func (c *conn) askShut() {
	if c.shut == shutNone {
		c.shut = shutWanted
	}
}

// Per-connection state most connections never need lives apart, so that
// an idle connection costs its loop little memory (the conn struct is
// most of it; see the idle benchmark).

// roles is a conn's part in topic fan-outs, relay names and request/reply.
type roles struct {
	filters  []filter    // fan-out topics, per group (topics.go); none: everything
	name     []byte      // relay: how others see this member
	room     uint32      // relay: the group + 1 whose registry holds name; 0: none
	announce [][2]uint32 // relay groups (and edges) told when this conn leaves
	replies  []asked     // request/reply worker: who asked each request it holds, oldest first
	replyAt  int         // replies[replyAt:] are outstanding

	// Request/reply requester (request.go): requests workers hold for it,
	// requests no worker had room for, and a half-close waiting on both.
	awaiting     int
	held         []heldRequest
	shutAnswered bool
}

func (c *conn) roles() *roles {
	if c.ro == nil {
		c.ro = new(roles)
	}
	return c.ro
}

// name is how relay members see c; nil before it has one.
func (c *conn) nameOrNil() []byte {
	if c.ro == nil {
		return nil
	}
	return c.ro.name
}

// bulk is the state of bytes that bypass framing: a large message cut
// through to its target, and splicing through a pipe.
type bulk struct {
	// Cut-through: left bytes of a large message are still to come and
	// go to streamTo as they arrive.
	left       int
	streamTo   connRef
	streamLost bool   // streamTo went away: the message is lost
	streamHWM  int    // the edge's mark at streamTo
	streamEdge uint32 // the edge it is sent along, for its figures

	// Splice: this conn's bytes go to its peer through pipe, never through
	// user space. pipeFill bytes are in the pipe; spliceOut says a
	// pipe->peer splice is pending on the peer's descriptor.
	pipe      [2]int
	pipeCap   int // what the pipe holds: one splice moves at most this
	havePipe  bool
	pipeFill  int
	pipeTo    uint32 // the endpoint its bytes were offered to
	spliceOut bool
	noSplice  bool // these descriptors cannot splice: use the fallback
	// ktls is set on a conn whose TLS records the kernel seals and opens
	// (secure_kernel.go), which splices like a plain one: here, not in
	// conn, so that no other conn pays for the pointer.
	ktls *kernelTLS
	// awaitPeer: the reader waits at its splice for its TLS peer's
	// handshake, which says whether that peer splices (secure_kernel.go).
	awaitPeer bool

	// The pipe carries the rest of a cut-through message to streamTo
	// (stream.go) rather than a bridge's bytes to the peer: streamIn says
	// a splice into it is in flight.
	pipeStream bool
	streamIn   bool
	direct     bool // the port was asked to leave c's bytes in the socket
}

// streamLeft is how many bytes of a cut-through message are still to
// come; 0: none is under way.
func (c *conn) streamLeft() int {
	if c.bulk == nil {
		return 0
	}
	return c.bulk.left
}

// kernelTLS is c's kernel TLS state, nil unless the kernel seals its
// records.
func (c *conn) kernelTLS() *kernelTLS {
	if c.bulk == nil {
		return nil
	}
	return c.bulk.ktls
}

func (c *conn) bulkState() *bulk {
	if c.bulk == nil {
		c.bulk = new(bulk)
	}
	return c.bulk
}

// pipeFill is how many bytes wait in c's splice pipe.
func (c *conn) pipeFill() int {
	if c.bulk == nil {
		return 0
	}
	return c.bulk.pipeFill
}

// spliceOut says a splice from c's pipe to its peer is pending.
func (c *conn) spliceOut() bool { return c.bulk != nil && c.bulk.spliceOut }

// connRef names a conn at one generation: a slot reused since does not match.
type connRef struct {
	c   *conn
	gen uint32
}

func (r connRef) live() *conn {
	if r.c == nil || r.c.gen != r.gen || r.c.closed() {
		return nil
	}
	return r.c
}
