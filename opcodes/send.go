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
		m.deliver(c, c.peer, c.fr, c.msg, c.lo, c.hi, true)
	case ToSelf:
		m.deliver(c, c, c.fr, c.msg, c.lo, c.hi, true)
	case ToGroup, ToOthers:
		skip := (*conn)(nil)
		if in.Mode == ToOthers {
			skip = c
		}
		n := m.deliverGroup(skip, in.Arg, c.fr, c.msg, c.lo, c.hi)
		n += m.postGroup(c, in.Arg)
		if n == 0 {
			m.counters[c.ep].Drops[DropNoRoute]++
		}
	}
}

// deliverGroup delivers to this loop's members of group g but skip, and
// returns how many members it addressed.
func (m *Machine) deliverGroup(skip *conn, g uint32, fr Framing, wire []byte, lo, hi int) int {
	n := 0
	for _, d := range m.groups[g] {
		if d == skip {
			continue
		}
		m.deliver(nil, d, fr, wire, lo, hi, false)
		n++
	}
	return n
}

// postGroup hands the message to every other loop with members in g, with
// one private copy shared by all of them, and returns how many loops.
func (m *Machine) postGroup(c *conn, g uint32) int {
	loops := len(m.rt.machines)
	if loops == 1 {
		return 0
	}
	var mail *groupMail
	n := 0
	for i := range loops {
		if i == m.id || m.rt.members[int(g)*loops+i].Load() == 0 {
			continue
		}
		if mail == nil {
			mail = &groupMail{src: c.ep, group: g, fr: c.fr, wire: append([]byte(nil), c.msg...), lo: c.lo, hi: c.hi}
		}
		m.rt.machines[i].loop.Post(mail)
		n++
	}
	return n
}

// deliver writes one message to d: inline when d's queue is empty and its
// descriptor pollable (try-first), else queued behind what is there. For a
// group (block false) a queue over the high-water mark drops the message;
// for a peer or self (block true) the message queues and the source stops
// reading until the queue drains.
func (m *Machine) deliver(src, d *conn, fr Framing, wire []byte, lo, hi int, block bool) {
	if d.closed || d.failed || d.wantShut || d.writeShut {
		m.counters[d.ep].Drops[DropDisconnect]++
		return
	}
	parts := m.parts[:1]
	if d.fr == fr || !d.fr.Boundaries() || d.fr.Name() == fr.Name() {
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
		m.counters[d.ep].Drops[DropHWM]++
		return
	}
	written := 0
	if q == 0 && d.inline && !d.sending && !d.connecting {
		n, err := completion.Writev(d.fd, parts, &m.iov)
		switch err {
		case nil:
		case unix.EAGAIN, unix.EINTR:
			n = 0
		default:
			m.counters[d.ep].Drops[DropDisconnect]++
			m.fail(d, DropDisconnect, errnoOf(err))
			return
		}
		m.counters[d.ep].BytesOut += uint64(n)
		if n == total {
			m.counters[d.ep].MsgsOut++
			return
		}
		written = n
	}
	if q == 0 {
		m.busy++
	}
	for _, p := range parts {
		if written >= len(p) {
			written -= len(p)
			continue
		}
		d.out = append(d.out, p[written:]...)
		written = 0
	}
	d.ends = append(d.ends, len(d.out))
	m.counters[d.ep].QueuedMsgs++
	m.counters[d.ep].Queued += int64(len(d.out) - d.head - q)
	m.flush(d)
	if block && src != nil && d.queued() > d.hwm {
		src.gate = d
	}
}

// flush submits everything queued for d as one send, unless one is in flight.
func (m *Machine) flush(d *conn) {
	if d.sending || d.connecting || d.queued() == 0 || d.closed {
		return
	}
	if d.head > 0 && d.head >= cap(d.out)/2 {
		n := copy(d.out, d.out[d.head:])
		for i := range d.ends {
			d.ends[i] -= d.head
		}
		d.out, d.head = d.out[:n], 0
	}
	d.iov[0] = d.out[d.head:]
	if err := m.port.Send(d.fd, d.iov[:], m.tok(d)); err != nil {
		m.fail(d, DropDisconnect, errnoOf(err))
		return
	}
	d.sending = true
}

// sent accounts a finished send and keeps the queue moving.
func (m *Machine) sent(c *conn) {
	n := c.lastSent
	c.lastSent = 0
	if n > 0 {
		c.head += n
		m.counters[c.ep].BytesOut += uint64(n)
		m.counters[c.ep].Queued -= int64(n)
		i := 0
		for i < len(c.ends) && c.ends[i] <= c.head {
			i++
		}
		if i > 0 {
			m.counters[c.ep].MsgsOut += uint64(i)
			m.counters[c.ep].QueuedMsgs -= int64(i)
			c.ends = append(c.ends[:0], c.ends[i:]...)
		}
	}
	if c.queued() == 0 {
		if n > 0 {
			m.busy--
		}
		if cap(c.out) > 256<<10 {
			c.out, c.ends = nil, nil // a burst is over: do not hold its memory
		}
		c.out, c.head = c.out[:0], 0
	} else {
		m.flush(c)
	}
	if c.queued() <= c.hwm/2 {
		if p := c.peer; p != nil && p.parked && p.gate == c {
			p.parked, p.gate = false, nil
			m.run(p)
		}
		if c.parked && c.gate == c && !c.closed {
			c.parked, c.gate = false, nil
			m.run(c)
		}
	}
}
