package opcodes

import (
	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/completion"
)

// send delivers c's current message as in addresses it.
func (m *Machine) send(c *conn, in *Inst) {
	switch in.Mode {
	case ToPeer:
		if c.peer == nil {
			m.counters[c.ep].Drops[DropDisconnect]++
			return
		}
		m.deliver(c, c.peer, c.frID, c.fr, c.msg, c.lo, c.hi, true)
	case ToSelf:
		m.deliver(c, c, c.frID, c.fr, c.msg, c.lo, c.hi, true)
	case ToGroup, ToOthers:
		skip := (*conn)(nil)
		if in.Mode == ToOthers {
			skip = c
		}
		n := m.deliverGroup(skip, in.Arg, c.frID, c.fr, c.msg, c.lo, c.hi)
		n += m.postGroup(c, in.Arg)
		if n == 0 {
			m.counters[c.ep].Drops[DropNoRoute]++
		}
	}
}

// deliverGroup delivers to this loop's members of group g but skip, and
// returns how many members it addressed.
func (m *Machine) deliverGroup(skip *conn, g, frID uint32, fr Framing, wire []byte, lo, hi int) int {
	n := 0
	for _, d := range m.groups[g] {
		if d == skip {
			continue
		}
		m.deliver(nil, d, frID, fr, wire, lo, hi, false)
		n++
	}
	return n
}

// postGroup adds the message to this turn's batch for every other loop with
// members in g, and returns how many loops.
func (m *Machine) postGroup(c *conn, g uint32) int {
	loops := len(m.rt.machines)
	if loops == 1 {
		return 0
	}
	n := 0
	for i := range loops {
		if i == m.id || m.rt.members[int(g)*loops+i].Load() == 0 {
			continue
		}
		b := m.outbox[i]
		if b == nil {
			b = batchPool.Get().(*groupBatch)
			m.outbox[i] = b
		}
		b.data = append(b.data, c.msg...)
		b.msgs = append(b.msgs, batchMsg{src: c.ep, group: g, frID: c.frID, fr: c.fr, end: len(b.data), lo: c.lo, hi: c.hi})
		n++
	}
	return n
}

// postBatches sends this turn's batches to the other loops: one inbox
// push and at most one wakeup per loop per turn.
func (m *Machine) postBatches() {
	for i, b := range m.outbox {
		if b != nil {
			m.rt.machines[i].loop.Post(b)
			m.outbox[i] = nil
		}
	}
}

// deliver queues one message for d and marks d for this turn's flush, so
// that everything a turn sends to one connection leaves in one write. For a
// group (block false) a queue over the high-water mark drops the message;
// for a peer or self (block true) the message queues and the source stops
// reading until the queue drains.
func (m *Machine) deliver(src, d *conn, frID uint32, fr Framing, wire []byte, lo, hi int, block bool) {
	if d.closed || d.failed || d.wantShut || d.writeShut {
		m.counters[d.ep].Drops[DropDisconnect]++
		return
	}
	parts := m.parts[:1]
	if d.frID == frID || d.raw {
		parts[0] = wire // same framing, or raw: the source's bytes as they came
	} else {
		payload := wire[lo:hi]
		head, tail := d.fr.Encode(m.hdr[:], payload)
		parts = append(parts[:0], head, payload, tail)
	}
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	q := d.queued()
	if !block && q > 0 && q+total > d.hwm {
		if !d.sending {
			// This turn's batch alone reached the mark: see what the
			// socket takes now. The mark counts only what it refused.
			m.writeNow(d)
			q = d.queued()
		}
		if q > 0 && q+total > d.hwm {
			m.counters[d.ep].Drops[DropHWM]++
			return
		}
	}
	if q == 0 {
		m.busy++
	}
	d.out.push(&m.chunks, parts)
	m.counters[d.ep].QueuedMsgs++
	m.counters[d.ep].Queued += int64(total)
	if !d.dirty && !d.sending && !d.connecting {
		d.dirty = true
		m.dirty = append(m.dirty, d)
	}
	if block && src != nil && d.queued() > d.hwm {
		src.gate = d
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
		if !d.closed {
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
	if d.closed || d.sending || d.connecting || d.queued() == 0 {
		return
	}
	if d.inline {
		m.blocks = d.out.iov(m.blocks[:0])
		n, err := completion.Writev(d.fd, m.blocks, &m.iov)
		switch err {
		case nil:
			m.wrote(d, n)
		case unix.EAGAIN, unix.EINTR:
		default:
			m.fail(d, DropDisconnect, errnoOf(err))
			return
		}
		if d.queued() == 0 {
			m.emptied(d)
			return
		}
	}
	m.flush(d)
}

// flush submits everything queued for d as one send, unless one is in flight.
func (m *Machine) flush(d *conn) {
	if d.sending || d.connecting || d.queued() == 0 || d.closed {
		return
	}
	d.iovs = d.out.iov(d.iovs[:0])
	if err := m.port.Send(d.fd, d.iovs, m.tok(d)); err != nil {
		m.fail(d, DropDisconnect, errnoOf(err))
		return
	}
	d.sending = true
}

// wrote accounts n bytes of c's queue as written, and the messages they end.
func (m *Machine) wrote(c *conn, n int) {
	if n <= 0 {
		return
	}
	done := c.out.consume(&m.chunks, n)
	m.counters[c.ep].BytesOut += uint64(n)
	m.counters[c.ep].Queued -= int64(n)
	m.counters[c.ep].MsgsOut += uint64(done)
	m.counters[c.ep].QueuedMsgs -= int64(done)
}

// emptied notes a queue that was just written out (its blocks are back in
// the pool already).
func (m *Machine) emptied(c *conn) {
	m.busy--
	if cap(c.iovs) > maxWriteChunks {
		c.iovs = nil
	}
}

// resume restarts readers gated on c once its queue is down to half.
func (m *Machine) resume(c *conn) {
	if c.queued() > c.hwm/2 {
		return
	}
	if p := c.peer; p != nil && p.parked && p.gate == c {
		p.parked, p.gate = false, nil
		m.run(p)
	}
	if c.parked && c.gate == c && !c.closed {
		c.parked, c.gate = false, nil
		m.run(c)
	}
}

// sent accounts a finished send and keeps the queue moving.
func (m *Machine) sent(c *conn) {
	n := c.lastSent
	c.lastSent = 0
	had := c.queued()
	m.wrote(c, n)
	if had > 0 && c.queued() == 0 {
		m.emptied(c)
	} else {
		m.flush(c)
	}
	m.resume(c)
	if p := c.peer; p != nil && p.pipeFill > 0 && !c.sending {
		m.spliceToPeer(p) // it waited for c's write side
	}
}
