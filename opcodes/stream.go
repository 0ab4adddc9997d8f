package opcodes

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/contract"
)

// cutMin is the message size from which a 1:1 send forwards a message as
// it arrives instead of holding it whole: a 100 MB frame then costs the
// router its high-water mark, not 100 MB.
const cutMin = 256 << 10

// startStream begins cut-through for c's partial message when its frame
// is flagged cut (the compiler found its send goes to one conn, peer or
// self, and nothing after needs the message whole), the message is large,
// its framing states its length, and that conn takes the same wire bytes
// under block: the bytes so far go now, the rest as they arrive (see
// streamRecv). It reports whether it started.
func (m *Machine) startStream(c *conn, in *Inst) bool {
	if in.Flags&FlagCut == 0 || c.terms.multi != nil || c.sess != nil {
		// Cut through: one part, whose length its header states, and no
		// session that must see each message whole.
		return false
	}
	sz, ok := c.terms.fr.(contract.Sizer)
	if !ok {
		return false
	}
	total, ok := sz.Size(c.cur)
	if !ok || total < cutMin || total <= len(c.cur) {
		return false
	}
	send := &m.inst[in.Arg]
	var d *conn
	switch send.Mode {
	case ToPeer:
		d = c.peer
	case ToSelf:
		d = c
	}
	e := m.edge(send.Alt)
	// A secured d still in its handshake has no session yet, but its
	// bytes must be sealed all the same: never cut through to it.
	if d == nil || d.closed() || d.sess != nil || d.sealsOnLoop() || (d.terms.frID != c.terms.frID && !d.terms.raw) || e.Prefix {
		return false
	}
	pol, mk := e.limits(d)
	if pol != contract.PolicyBlock {
		return false
	}
	b := c.bulkState()
	b.streamTo, b.left, b.streamHWM, b.streamEdge = connRef{d, d.gen}, total, mk.bytes, send.Alt
	c.bulk.streamLost = false
	m.streamBytes(c, c.cur)
	m.releaseInput(c)
	return true
}

// streamRecv passes received bytes to c's message in progress and returns
// what is left after its end.
func (m *Machine) streamRecv(c *conn, b []byte) []byte {
	n := min(len(b), c.streamLeft())
	m.streamBytes(c, b[:n])
	return b[n:]
}

// streamBytes queues the next bytes of c's streamed message for its target,
// holding c back at the target's mark, and ends the message at its last
// byte.
func (m *Machine) streamBytes(c *conn, b []byte) {
	c.bulk.left -= len(b)
	d := c.bulk.streamTo.live()
	if d == nil || d.failed || d.shut == shutDone {
		c.bulk.streamLost = true
	} else {
		if d.queued() == 0 {
			m.busy++
		}
		d.out.pushPart(&m.chunks, b)
		m.counters[d.ep].Queued += int64(len(b))
		if !d.dirty && !d.sending && !d.connecting() {
			d.dirty = true
			m.dirty = append(m.dirty, d)
		}
		// A message in pieces: only the byte mark applies.
		if mk := (marks{bytes: c.bulk.streamHWM}); !mk.admits(d, 0, 1) {
			m.block(c, d, mk)
		}
	}
	if c.streamLeft() > 0 {
		return
	}
	c.partialAt = 0 // the message is whole
	m.endDirect(c)
	m.counters[c.ep].MsgsIn++
	if c.bulk.streamLost {
		m.counters[c.ep].Lost[DropDisconnect]++
		m.edgeFigs[c.bulk.streamEdge].Lost[DropDisconnect]++
	} else {
		d.out.endMessage()
		m.counters[d.ep].QueuedMsgs++
		m.counters[d.ep].Offered++
		m.edgeFigs[c.bulk.streamEdge].Offered++
	}
	c.bulk.streamTo = connRef{}
}

// streamAborted counts the message c was streaming when it closed: its
// target got part of it and is closed after it (see close).
func (m *Machine) streamAborted(c *conn) {
	if c.bulk == nil || c.bulk.streamTo.c == nil {
		return
	}
	b := c.bulk
	m.counters[c.ep].MsgsIn++
	m.counters[c.ep].Lost[DropDisconnect]++
	m.edgeFigs[b.streamEdge].Lost[DropDisconnect]++
	if d := b.streamTo.live(); d != nil && d != c {
		if b.streamIn {
			d.sending = false // held for the splice that c's close cancels
		}
		d.peerGone = true
		d.askShut() // what it got ends mid-message
		m.runWriter(d)
	}
	// streamIn stays set: a splice-in may still complete (see
	// streamSplicedIn).
	b.left, b.streamTo = 0, connRef{}
}

// streamSplice moves the rest of c's cut-through message to its target
// through c's pipe, a pipeful at a time, when both descriptors can splice:
// the payload of a 100 MB frame then never enters user space. The target's
// queue drains first (it holds the message's start), and its write side is
// held for the splice until the pipe is empty, so nothing else goes out in
// the middle. It reports whether c parked; false: read and copy.
func (m *Machine) streamSplice(c *conn) (parked bool) {
	b := c.bulk
	if b.spliceOut || b.pipeFill > 0 {
		return true // the splice-out's completion resumes c
	}
	d := b.streamTo.live()
	if b.noSplice || b.streamLost || d == nil || d.failed || d.shut == shutDone || d.connecting() ||
		!c.inline || !d.inline || c.terms.dgram || d.terms.dgram {
		return false
	}
	b.direct = true
	if !m.port.ReadDirect(c.fd, true) {
		return false // bytes read ahead go first, copied
	}
	if d.sending || d.queued() > 0 {
		m.block(c, d, marks{}) // woken when d's queue is empty
		c.parked = true
		return true
	}
	if !m.openPipe(c) {
		return false
	}
	if err := m.port.SpliceIn(c.fd, b.pipe[1], min(c.streamLeft(), b.pipeCap), m.tok(c)); err != nil {
		m.fail(c, DropDisconnect, errnoOf(err))
		return false
	}
	c.recvPending, b.streamIn = true, true
	d.sending = true
	return true
}

// streamSplicedIn handles the next bytes of c's cut-through message in its
// pipe: they go on to the target at once.
func (m *Machine) streamSplicedIn(c *conn, cp *completion.Completion) {
	b := c.bulk
	c.recvPending, b.streamIn = false, false
	if c.closed() || c.down() {
		// It completed as c closed; streamAborted counted the message.
		m.counters[c.ep].BytesIn += uint64(max(cp.N, 0))
		return
	}
	d := b.streamTo.live()
	if d != nil {
		d.sending = false
	}
	in := &m.inst[c.rpc]
	switch {
	case in.Op != OpRecv || c.readDone:
		// The reader moved on (to its error handler) meanwhile.
		if cp.N > 0 {
			m.counters[c.ep].BytesIn += uint64(cp.N)
			m.closePipe(c)
		}
		return
	case cp.Err == unix.EINVAL || cp.Err == unix.ENOSYS:
		b.noSplice = true // copy the rest
	case cp.Err != 0:
		m.fail(c, DropDisconnect, cp.Err)
		return
	case cp.N == 0 && c.terms.ignoreEOF:
		c.readDone = true
		return
	case cp.N == 0:
		c.rpc = in.Alt // the message ends early: see streamAborted
	default:
		m.counters[c.ep].BytesIn += uint64(cp.N)
		if c.terms.idleTimed {
			c.lastIO = time.Now().UnixNano()
		}
		c.stampRead()
		b.left -= cp.N
		if d == nil || d.failed || d.shut == shutDone {
			b.streamLost = true
			m.closePipe(c) // the bytes have nowhere to go
			if c.streamLeft() == 0 {
				m.streamDone(c, nil)
			}
			break
		}
		b.pipeFill, b.pipeStream, b.pipeTo = cp.N, true, d.ep
		m.busy++
		m.counters[d.ep].Queued += int64(cp.N)
		m.streamSpliceOut(c, d)
		return
	}
	m.run(c)
}

// streamSpliceOut moves what is in c's pipe on to d, holding d's write side.
func (m *Machine) streamSpliceOut(c, d *conn) {
	if err := m.port.SpliceOut(c.bulk.pipe[0], d.fd, c.bulk.pipeFill, m.tok(c)); err != nil {
		m.dropPipe(c)
		m.fail(d, DropDisconnect, errnoOf(err))
		if d != c {
			m.run(c)
		}
		return
	}
	c.bulk.spliceOut = true
	d.sending = true
}

// streamSplicedOut handles bytes of c's message that left its pipe.
func (m *Machine) streamSplicedOut(c *conn, cp *completion.Completion) {
	b := c.bulk
	b.spliceOut = false
	d := b.streamTo.live()
	if d == nil {
		// The target closed meanwhile; its close cancelled the splice.
		m.dropPipe(c)
		m.run(c)
		return
	}
	d.sending = false
	if cp.Err == unix.EINVAL && m.unpipe(c) {
		m.run(c) // d's descriptor takes no splice: copy from here on
		return
	}
	if cp.Err != 0 || cp.N <= 0 {
		m.dropPipe(c)
		m.fail(d, DropDisconnect, cp.Err)
		if d != c {
			m.run(c) // the rest of the message is read and dropped
		}
		return
	}
	m.counters[d.ep].BytesOut += uint64(cp.N)
	m.counters[d.ep].Queued -= int64(cp.N)
	if d.terms.idleTimed {
		d.lastIO = time.Now().UnixNano()
	}
	b.pipeFill -= cp.N
	if b.pipeFill > 0 {
		m.streamSpliceOut(c, d)
		return
	}
	b.pipeStream = false
	m.busy--
	if c.streamLeft() == 0 {
		m.streamDone(c, d)
	}
	if d.queued() > 0 || d.shut != shutNone || d.peerGone {
		m.runWriter(d) // what waited for the held write side
	}
	m.run(c)
}

// unpipe takes back what c's pipe holds for its stream target and queues
// it as copied bytes; c copies the rest of its messages. It reports false
// when the pipe cannot be read back.
func (m *Machine) unpipe(c *conn) bool {
	b := c.bulk
	held := make([]byte, b.pipeFill) // rare: a destination that refused splice
	for got := 0; got < len(held); {
		n, err := unix.Read(b.pipe[0], held[got:])
		if err != nil || n <= 0 {
			return false
		}
		got += n
	}
	d := b.streamTo.live()
	m.counters[d.ep].Queued -= int64(len(held)) // queued again below
	m.busy--
	b.pipeFill, b.pipeStream, b.noSplice = 0, false, true
	b.left += len(held) // streamBytes counts them off again
	m.streamBytes(c, held)
	return true
}

// streamDone counts c's message, whose last byte was spliced to d (nil:
// the message was lost).
func (m *Machine) streamDone(c, d *conn) {
	c.partialAt = 0
	m.endDirect(c)
	m.counters[c.ep].MsgsIn++
	if d == nil || c.bulk.streamLost {
		m.counters[c.ep].Lost[DropDisconnect]++
		m.edgeFigs[c.bulk.streamEdge].Lost[DropDisconnect]++
	} else {
		m.counters[d.ep].Offered++
		m.counters[d.ep].MsgsOut++
		m.edgeFigs[c.bulk.streamEdge].Offered++
	}
	c.bulk.streamTo = connRef{}
}

// dropStreamPipe lets go of the bytes of c's cut-through message that wait
// in its pipe: the message is lost (it is counted once, as the source's,
// at its end or when c closes).
func (m *Machine) dropStreamPipe(c *conn) {
	b := c.bulk
	if d := b.streamTo.live(); d != nil && d != c {
		d.sending = false
	}
	m.counters[b.pipeTo].Queued -= int64(b.pipeFill)
	m.busy--
	b.pipeFill, b.pipeStream = 0, false
	if b.streamTo.c != nil {
		b.streamLost = true
		if c.streamLeft() == 0 {
			m.streamDone(c, nil)
		}
	}
}

// endDirect lets c's port read ahead again once its message is over.
func (m *Machine) endDirect(c *conn) {
	if c.bulk.direct {
		c.bulk.direct = false
		m.port.ReadDirect(c.fd, false)
	}
}
