package opcodes

import (
	"github.com/pxroute/pxroute/completion"
)

// conn is one connection's state on its loop: two threads of the program
// (reader at rpc, writer at wpc), its input carry-over and its output queue.
type conn struct {
	slot, gen uint32
	fd        int
	ep        uint32
	endpoint  Endpoint
	fr        Framing
	frID      uint32 // index of fr among the program's distinct framings
	raw       bool   // fr keeps no boundaries: output is the source's wire bytes
	maxFrame  int
	hwm       int
	inline    bool // pollable: a write may be tried inline (never for regular files)

	rpc, epc, wpc uint32 // reader pc, error handler, send-complete handler
	start         uint32 // the open thread that made it (singletons), else 0

	connecting  bool // connect in flight: sends only queue
	recvPending bool
	parked      bool  // reader waits for gate's queue to drain
	gate        *conn // the conn whose full queue stopped this reader
	readDone    bool
	wantShut    bool // half-close requested once the queue drains
	writeShut   bool
	peerGone    bool // its peer closed: close once drained
	failed      bool // an error is pending; the reader jumps to epc
	failDrop    Drop
	closed      bool
	sending     bool // a port Send is in flight
	dirty       bool // queued this turn: in Machine.dirty for the turn's flush

	// Input: cur is what is left to frame, backed by buf (a port buffer)
	// or by in (carry-over of a partial message).
	in  []byte
	cur []byte
	buf *completion.Buf
	msg []byte // the current message's wire bytes
	lo  int    // payload bounds inside msg
	hi  int

	// Output: what is queued for this conn, by block and by message.
	out      outQueue
	iovs     [][]byte // the blocks of the send in flight; reused
	lastSent int      // bytes the last send completion reported

	peer   *conn
	groups []uint32

	// Splice: this conn's bytes go to its peer through pipe, never through
	// user space. pipeFill bytes are in the pipe; spliceOut says a
	// pipe->peer splice is pending on the peer's descriptor.
	pipe      [2]int
	pipeCap   int // what the pipe holds: one splice moves at most this
	havePipe  bool
	pipeFill  int
	spliceOut bool
	noSplice  bool // these descriptors cannot splice: use the fallback
}

func (c *conn) queued() int { return c.out.len() }
