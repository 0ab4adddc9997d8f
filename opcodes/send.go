package opcodes

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/contract"
)

// send delivers c's current message as in addresses it.
func (m *Machine) send(c *conn, in *Inst) {
	e := m.edge(in.Alt)
	msg := c.current()
	if m.rewrites(c, e, msg) {
		var ok bool
		if msg, ok = m.prefixed(c, e, msg); !ok { // rewrite.go
			m.counters[c.ep].Lost[DropMaxFrame]++
			m.edgeFigs[in.Alt].Lost[DropMaxFrame]++
			return
		}
	}
	switch in.Mode {
	case ToPeer:
		if c.peer == nil {
			m.counters[c.ep].Lost[DropDisconnect]++
			m.edgeFigs[in.Alt].Lost[DropDisconnect]++
			return
		}
		m.deliver(c, c.peer, e, &m.edgeFigs[in.Alt], c.terms.frID, c.terms.fr, &msg)
	case ToSelf:
		m.deliver(c, c, e, &m.edgeFigs[in.Alt], c.terms.frID, c.terms.fr, &msg)
	case ToGroup, ToOthers:
		skip := (*conn)(nil)
		if in.Mode == ToOthers {
			skip = c
		}
		n := m.deliverGroup(c, skip, in.Arg, in.Alt, c.terms.frID, c.terms.fr, msg)
		n += m.postGroup(c, in.Arg, in.Alt, msg, n)
		m.holdBack(c)
		m.shared.done()
		if n == 0 {
			m.counters[c.ep].Lost[DropNoRoute]++
			m.edgeFigs[in.Alt].Lost[DropNoRoute]++
		}
	case ToOne:
		if e.Reply {
			m.request(c, in.Arg, in.Alt, msg) // request.go
			return
		}
		d := m.pick(in.Arg, e)
		if d == nil {
			m.counters[c.ep].Lost[DropNoRoute]++
			m.edgeFigs[in.Alt].Lost[DropNoRoute]++
			return
		}
		m.deliver(c, d, e, &m.edgeFigs[in.Alt], c.terms.frID, c.terms.fr, &msg)
		m.blockOnGroup(c, in.Arg, e)
	case ToRequester:
		m.reply(c, in.Alt, msg) // request.go
	}
}

// deliverGroup delivers to this loop's members of group g but skip, and
// returns how many members it addressed. src is nil for messages from
// another loop.
func (m *Machine) deliverGroup(src, skip *conn, g, edge, frID uint32, fr contract.Framing, msg message) int {
	e, fig := m.edge(edge), &m.edgeFigs[edge]
	n := 0
	m.fanning = true
	for _, d := range m.groups[g] {
		if d == skip || (d.ro != nil && d.ro.filters != nil && !d.wants(g, msg.first())) {
			continue
		}
		m.deliver(src, d, e, fig, frID, fr, &msg)
		n++
	}
	m.fanning = false
	return n
}

// pick chooses the one member of group g a balanced message goes to: by
// round robin or least queued, skipping members over their marks; nil
// when the group is empty. When every member is full it returns the least
// loaded, whose block policy then holds the sender back. A request worker
// at its max_outstanding is passed over while any other has room; when
// none has, it returns one at its max and the caller holds or drops.
func (m *Machine) pick(g uint32, e *Edge) *conn {
	members := m.groups[g]
	if len(members) == 0 {
		return nil
	}
	var best, capped *conn
	bestLoad := 0
	start := m.cursor[g]
	for i := range members {
		d := members[(start+i)%len(members)]
		if d.closed() || d.failed || d.shut != shutNone {
			continue
		}
		if e.Reply && m.atMax(d) {
			if capped == nil {
				capped = d
			}
			continue
		}
		_, mk := e.limits(d)
		load := d.queued()
		full := !mk.admits(d, 1, 1)
		if e.Pick == PickRoundRobin && !full {
			m.cursor[g] = (start + i + 1) % len(members)
			return d
		}
		if best == nil || load < bestLoad {
			best, bestLoad = d, load
		}
	}
	if best == nil && capped != nil {
		best = capped
	}
	if best == nil {
		best = members[start%len(members)] // all are leaving: deliver counts it
	}
	m.cursor[g] = (start + 1) % len(members)
	return best
}

// postGroup adds the message to this turn's batch for every other loop with
// members in g, and returns how many loops. home is how many members here
// it reached.
func (m *Machine) postGroup(c *conn, g, edge uint32, msg message, home int) int {
	m.oneMsg[0] = batchMsg{src: c.ep, group: g, edge: edge, frID: c.terms.frID, fr: c.terms.fr, end: len(msg.wire), lo: msg.lo, hi: msg.hi, pz: len(msg.parts)}
	n := m.postRun(g, msg.wire, m.oneMsg[:], msg.parts, home)
	m.oneMsg[0] = batchMsg{}
	return n
}

// postBatches sends this turn's batches to the other loops: one inbox
// push and at most one wakeup per loop per turn.
func (m *Machine) postBatches() {
	for i, b := range m.outbox {
		if b != nil {
			m.post(i, b)
			m.outbox[i] = nil
		}
	}
}

// deliver queues one message for d as edge e says, and marks d for this
// turn's flush, so that everything a turn sends to one connection leaves in
// one write. Over d's marks the edge's policy applies; under block the
// message queues and src reads no more until d's queue drains. It reports
// whether the message was queued. fig, the edge's figures, counts what
// it offered and what was refused at once; drop-oldest's victims may be
// any edge's, and count only at d.
func (m *Machine) deliver(src, d *conn, e *Edge, fig *edgeCounters, frID uint32, fr contract.Framing, msg *message) bool {
	m.counters[d.ep].Offered++
	fig.Offered++
	if d.closed() || d.failed || d.shut != shutNone {
		m.counters[d.ep].Drops[DropDisconnect]++
		fig.Drops[DropDisconnect]++
		return false
	}
	if d.terms.maxOut > 0 && msg.size() > d.terms.maxOut {
		// Its framing cannot carry it (a datagram, a short length header).
		m.counters[d.ep].Drops[DropMaxFrame]++
		fig.Drops[DropMaxFrame]++
		return false
	}
	if g := d.terms.gate; g != nil && g.Refuses(msg.size(), msg.first(), msg.count()) {
		// Its framing cannot carry it now (contract.Gated).
		m.counters[d.ep].Drops[DropMaxFrame]++
		fig.Drops[DropMaxFrame]++
		return false
	}
	pol, mk := e.limits(d)
	same := (d.terms.frID == frID && d.terms.gate == nil) || d.terms.raw // the source's bytes as they came
	total := len(msg.wire)
	var segs [][]byte
	switch {
	case same:
	case msg.parts == nil && d.terms.multi == nil:
		// One part for a framing of one part: the common case, in fixed
		// scratch and without a call.
		p := msg.wire[msg.lo:msg.hi]
		m.one[0] = p
		head, tail := d.terms.fr.Encode(m.hdr[:], m.one[:])
		m.one[0] = nil
		m.seg3 = [3][]byte{head, p, tail}
		segs, total = m.seg3[:], len(head)+len(p)+len(tail)
	default:
		segs, total = m.encode(d, *msg)
	}
	over := func() bool { return !mk.admits(d, total, 1) }
	if pol != contract.PolicyBlock && over() {
		if !d.sending {
			// This turn's batch alone reached the mark: see what the
			// socket takes now. The mark counts only what it refused.
			m.writeNow(d)
		}
		if over() && pol == contract.PolicyDropOldest {
			m.dropOldest(d, mk.bytes-total, mk.msgs)
		}
		if over() {
			fig.Drops[DropHWM]++
			m.refuse(d, pol)
			clear(segs)
			return false
		}
	}
	if d.queued() == 0 {
		m.busy++
	}
	switch {
	case same && m.fanning:
		m.shared.queue(&m.chunks, &d.out, msg.wire)
	case same && d.queued() == 0 && len(msg.wire) <= outChunk:
		// Into the loop's share stream too: a turn that answers many
		// connections once each (a burst of echoes, of replies) then
		// fills one chunk, not one 64 KiB chunk per connection that the
		// pool keeps after the burst. Not a message over a chunk: the
		// stream would take one of its size from the collector for it,
		// and keep it as its fill once written.
		m.shared.queueOne(&m.chunks, &d.out, msg.wire)
	case same:
		d.out.push(&m.chunks, [][]byte{msg.wire})
	default:
		d.out.push(&m.chunks, segs)
		clear(segs) // hold no message past its delivery
	}
	m.counters[d.ep].QueuedMsgs++
	m.counters[d.ep].Queued += int64(total)
	if !d.dirty && !d.sending && !d.connecting() {
		d.dirty = true
		m.dirty = append(m.dirty, d)
	}
	if pol == contract.PolicyBlock && src != nil && !mk.admits(d, 0, 1) {
		m.block(src, d, mk)
	}
	return true
}

// encode frames a message of several parts, or one for a multipart
// framing, in d's framing as the segments to queue (no copy:
// the payload's parts stay where they are, between d's headers), in
// scratch valid until the next call, and returns them and their length.
// A multipart destination gets a header per part; another gets the parts
// back to back as one payload.
func (m *Machine) encode(d *conn, msg message) ([][]byte, int) {
	m.payload = msg.payload(m.payload[:0])
	if mp := d.terms.multi; mp != nil {
		m.hdrs, m.segs = mp.EncodeParts(m.hdrs[:0], m.segs[:0], m.payload)
	} else {
		head, tail := d.terms.fr.Encode(m.hdr[:], m.payload)
		m.segs = append(append(append(m.segs[:0], head), m.payload...), tail)
	}
	clear(m.payload)
	n := 0
	for _, b := range m.segs {
		n += len(b)
	}
	return m.segs, n
}

// dropOldest makes room in d's queue for a message that leaves keep bytes
// under the mark, by dropping the oldest messages no write has started on.
func (m *Machine) dropOldest(d *conn, keep, hwmMsgs int) {
	keepMsgs := 1 << 62
	if hwmMsgs > 0 {
		keepMsgs = hwmMsgs - 1
	}
	had := d.queued()
	n, b := d.out.dropOldest(&m.chunks, d.busy(), max(keep, 0), keepMsgs)
	if had > 0 && d.queued() == 0 {
		m.busy--
	}
	m.counters[d.ep].Drops[DropHWM] += uint64(n)
	m.counters[d.ep].QueuedMsgs -= int64(n)
	m.counters[d.ep].Queued -= int64(b)
}

// refuse drops a message for d, over its marks, as policy pol says.
func (m *Machine) refuse(d *conn, pol contract.Policy) {
	m.counters[d.ep].Drops[DropHWM]++
	if pol == contract.PolicyDisconnect {
		m.log.Warn("disconnecting a connection over its high-water mark", "endpoint", m.prog.Endpoints[d.ep], "queued", d.queued())
		m.fail(d, DropDisconnect, 0)
	}
}

// block stops src reading until d's queue drains to half its marks.
func (m *Machine) block(src, d *conn, mk marks) {
	src.blocked = true
	if d.waits == nil {
		d.waits = new(waiters)
	}
	ws := d.waits
	for _, w := range ws.refs {
		if w.c == src && w.gen == src.gen {
			return
		}
	}
	ws.refs = append(ws.refs, connRef{src, src.gen})
	ws.resume = marks{mk.bytes / 2, mk.msgs / 2}
	if mk.msgs == 1 {
		// Half of one message is none, but msgs 0 means no limit: the
		// sender would resume at once and queue past the mark. Wait for
		// an empty queue.
		ws.resume = marks{0, 0}
	}
}

// blockOnGroup makes src, blocked on the one member of balanced group g its
// message went to, wait on every member: whichever drains first lets it
// go on (its next message picks one with room). Waiting on the one alone,
// a worker that stopped reading held the producer for good while the
// others sat idle.
func (m *Machine) blockOnGroup(src *conn, g uint32, e *Edge) {
	if !src.blocked {
		return
	}
	for _, o := range m.groups[g] {
		if _, mk := e.limits(o); !o.closed() {
			m.block(src, o, mk)
		}
	}
}

// flushDirty writes, once per connection, what this turn queued.
func (m *Machine) flushDirty() {
	// Resuming a throttled reader queues more and appends here: walk to
	// the live length.
	for i := 0; i < len(m.dirty); i++ {
		d := m.dirty[i]
		m.dirty[i] = nil
		if !d.dirty {
			continue // closed, or its slot reused, since it was marked
		}
		d.dirty = false
		m.writeNow(d)
		if !d.closed() {
			m.resume(d)
		}
	}
	m.dirty = m.dirty[:0]
}

// writeNow starts writing d's queue, try-first: one non-blocking write
// inline, and only what would block goes to the port as one send (on
// io_uring, submitted with the turn's other work in one io_uring_enter).
// Inline first on both engines keeps the high-water mark honest: it counts
// what the socket refused, not what merely waits for a completion.
func (m *Machine) writeNow(d *conn) {
	if d.closed() || d.sending || d.connecting() || !d.toWrite() {
		return
	}
	had := d.queued()
	if d.inline && d.terms.dgram {
		if !m.writeDatagrams(d) {
			return
		}
	} else if d.inline {
		m.blocks = m.iovOf(d, m.blocks[:0])
		n, err := completion.Writev(d.fd, m.blocks, &m.iov)
		switch err {
		case nil:
			m.wrote(d, n)
		case unix.EAGAIN, unix.EINTR:
		default:
			if m.lastWordsUnheard(d, errnoOf(err)) {
				break
			}
			m.fail(d, DropDisconnect, errnoOf(err))
			return
		}
	}
	if had > 0 && d.queued() == 0 {
		m.emptied(d)
	}
	m.flush(d)
}

// iovOf appends the bytes of d's next write to dst: its queue, and its
// session's control output (session.go).
func (m *Machine) iovOf(d *conn, dst [][]byte) [][]byte {
	if d.sess != nil {
		if d.sealed() != nil {
			return m.sealedIOV(d, dst)
		}
		return d.sess.iov(&d.out, dst)
	}
	return d.out.iov(dst)
}

// writeDatagrams writes d's queued messages one datagram each until the
// socket would block. It reports false if d failed.
func (m *Machine) writeDatagrams(d *conn) bool {
	for d.queued() > 0 {
		m.blocks = d.out.iovFirst(m.blocks[:0])
		var n int
		var err error
		if len(m.blocks) == 0 {
			_, err = unix.Write(d.fd, nil) // an empty datagram
		} else {
			n, err = completion.Writev(d.fd, m.blocks, &m.iov)
		}
		switch err {
		case nil:
			m.wrote(d, n)
		case unix.ECONNREFUSED, unix.EINTR:
			// ECONNREFUSED is about an earlier datagram: try this one again.
		case unix.EAGAIN:
			return true
		default:
			m.fail(d, DropDisconnect, errnoOf(err))
			return false
		}
	}
	return true
}

// flush submits everything queued for d as one send, unless one is in flight.
func (m *Machine) flush(d *conn) {
	if d.sending || d.connecting() || !d.toWrite() || d.closed() {
		return
	}
	if d.terms.dgram {
		d.iovs = d.out.iovFirst(d.iovs[:0])
	} else {
		d.iovs = m.iovOf(d, d.iovs[:0])
	}
	if err := m.port.Send(d.fd, d.iovs, m.tok(d)); err != nil {
		m.fail(d, DropDisconnect, errnoOf(err))
		return
	}
	d.sending = true
	d.inflight = 0
	for _, b := range d.iovs {
		d.inflight += len(b)
	}
	if d.sess != nil {
		d.inflight -= d.sess.ctlSent // not the queue's
	}
	if z := d.sealed(); z != nil {
		d.inflight = z.covering() // the queue's bytes the sealed batch holds
	}
}

// wrote accounts n bytes of c's queue as written, and the messages they end.
func (m *Machine) wrote(c *conn, n int) {
	if n < 0 || n == 0 && !c.terms.dgram { // a datagram may be empty
		return
	}
	c.stampWrite()
	if c.sess != nil && c.sess.ctlSent > 0 {
		k := c.sess.wroteCtl(n) // control output leads the write
		m.counters[c.ep].BytesOut += uint64(k)
		if z := c.sess.seal; z != nil && z.sealOut != nil {
			z.ctlFirst = max(z.ctlFirst-k, 0)
		}
		if n -= k; n == 0 {
			return
		}
	}
	if z := c.sealed(); z != nil {
		m.wroteSealed(c, z, n)
		if c.terms.idleTimed {
			c.lastIO = time.Now().UnixNano()
		}
		return
	}
	done := c.out.consume(&m.chunks, n)
	if c.terms.idleTimed {
		c.lastIO = time.Now().UnixNano()
	}
	m.counters[c.ep].BytesOut += uint64(n)
	m.counters[c.ep].Queued -= int64(n)
	m.counters[c.ep].MsgsOut += uint64(done)
	m.counters[c.ep].QueuedMsgs -= int64(done)
}

// restOutput lets go of an idle conn's output scratch: its queue's
// segment and message-end arrays and the iovec array of its last write,
// 64 bytes and more that every idle sealing conn would otherwise hold
// (its session rests: secure_warm.go). Its next message makes them again.
// A conn with bytes queued or a write in flight keeps them.
func (c *conn) restOutput() {
	if !c.sending && c.out.letGo() {
		c.iovs = nil
	}
}

// emptied notes a queue that was just written out (its blocks are back in
// the pool already). The iovec scratch lets go of what the writes pointed
// at: an idle conn would otherwise keep its last writes' buffers alive (a
// sealed batch, up to keepSealing, after its session rested them).
func (m *Machine) emptied(c *conn) {
	m.busy--
	clear(c.iovs[:cap(c.iovs)])
	if cap(c.iovs) > maxWriteChunks {
		c.iovs = nil
	}
}

// resume wakes the senders blocked on c once its queue is down to half
// the marks they hit. They run in settle, not under the caller.
func (m *Machine) resume(c *conn) {
	if c.waits == nil || len(c.waits.refs) == 0 || !c.waits.resume.admits(c, 0, 0) {
		return
	}
	m.wakeAll(c)
}

// wakeAll unblocks every sender waiting on c.
func (m *Machine) wakeAll(c *conn) {
	if c.waits != nil {
		c.waits.refs = m.unblock(c.waits.refs)
	}
}

// unblock lets the senders in ws read again (those parked run in settle)
// and returns ws emptied.
func (m *Machine) unblock(ws []connRef) []connRef {
	for i, w := range ws {
		ws[i] = connRef{}
		if s := w.live(); s != nil && s.blocked {
			s.blocked = false
			if s.parked {
				s.parked = false
				m.wake = append(m.wake, w)
			}
		}
	}
	return ws[:0]
}

// sent accounts a finished send and keeps the queue moving.
func (m *Machine) sent(c *conn) {
	n := int(c.lastSent)
	c.lastSent, c.inflight = 0, 0
	had := c.queued()
	m.wrote(c, n)
	if had > 0 && c.queued() == 0 {
		m.emptied(c)
	}
	m.flush(c)
	m.resume(c)
	if p := c.peer; p != nil && p.pipeFill() > 0 && !c.sending {
		m.spliceToPeer(p) // it waited for c's write side
	}
}
