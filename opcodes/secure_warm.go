package opcodes

import (
	"time"

	"github.com/pxroute/pxroute/contract"
)

// Warm sessions: a sealing conn (TLS, WebSocket) may hold state that an
// idle conn need not: buffers sized by its last traffic (the plaintext of
// its last read, its last batch and the batch sealed, each kept up to
// keepSealing for the next read or batch; TLS's record cut short at a
// read's end, 16 KiB) and state built from its keys (TLS: two AEADs,
// ~1.5 KB). Without a bound, 1,000 idle TLS conns that had each echoed
// 256 KiB held 135 KB apiece. A session rests, dropping what it does not
// hold for a write under way and building it again on its next use, when
// it has not read or written through its sealing for one to two
// warmRestEvery (a sweep, one timer a loop, armed while any session is
// warm), or when warmSessions others have since (each loop keeps at most
// that many warm: entering evicts the oldest). A conn in steady use stays
// warm; past warmSessions conns in use on a loop, each use costs a key
// expansion and its buffers' allocation: that loop trades CPU for the
// memory.
const (
	warmSessions  = 512
	warmRestEvery = time.Second
)

// warmRing is a loop's warm sessions, oldest at next once the ring is
// full; holes are slots freed by a sweep or a closed conn, filled first.
type warmRing struct {
	slots    []warmEntry
	next     int
	holes    []int
	sweeping bool // the sweep's timer is armed
}

// warmEntry is a warm session on its conn. Like a tick list's entry
// (session_tick.go), it is stale once c.sess is no longer s: resting it
// then rests s alone.
type warmEntry struct {
	c *conn
	s *session
}

// warmUse notes that c's session is about to read or write through its
// sealing: it enters the ring if it is not in it, and the sweep is armed.
func (m *Machine) warmUse(c *conn) {
	s := c.sess
	s.recent = true
	if s.warm {
		return
	}
	m.warm.enter(warmEntry{c, s})
	if !m.warm.sweeping {
		m.warm.sweeping = true
		m.port.After(warmRestEvery, token(tagWarm, 0, 0))
	}
}

// enter puts e in the ring, unless its session is in it: in a hole if
// there is one, else evicting and resting the oldest entry once the ring
// is full.
func (r *warmRing) enter(e warmEntry) {
	if e.s.warm {
		return
	}
	switch {
	case len(r.holes) > 0:
		i := r.holes[len(r.holes)-1]
		r.holes = r.holes[:len(r.holes)-1]
		r.slots[i] = e
	case len(r.slots) < warmSessions:
		r.slots = append(r.slots, e)
	default:
		if old := r.slots[r.next]; old.s != nil {
			old.rest()
		}
		r.slots[r.next] = e
		r.next = (r.next + 1) % warmSessions
	}
	e.s.warm = true
}

// sweepWarm rests the sessions not used since the last sweep, and arms
// the next sweep while any stays warm.
func (m *Machine) sweepWarm() {
	m.warm.sweeping = m.warm.sweep()
	if m.warm.sweeping {
		m.port.After(warmRestEvery, token(tagWarm, 0, 0))
	}
}

// sweep rests the sessions not used since the last sweep; it reports
// whether any stays warm.
func (r *warmRing) sweep() (warm bool) {
	for i, e := range r.slots {
		switch {
		case e.s == nil:
		case e.s.recent:
			e.s.recent = false
			warm = true
		default:
			e.rest()
			r.slots[i] = warmEntry{}
			r.holes = append(r.holes, i)
		}
	}
	return warm
}

// leave takes s out of the ring, its conn gone: the ring must not keep
// a closed conn's session (and its buffers) alive.
func (r *warmRing) leave(s *session) {
	if !s.warm {
		return
	}
	for i, e := range r.slots {
		if e.s == s {
			r.slots[i] = warmEntry{}
			r.holes = append(r.holes, i)
			break
		}
	}
	s.warm = false
}

// rest takes e's session out of the ring's count of warm ones and lets
// go of what it and its conn rebuild on their next use.
func (e warmEntry) rest() {
	e.s.warm = false
	e.s.rest()
	if e.c.sess == e.s {
		e.c.restOutput()
	}
}

// rest lets go of what s rebuilds on its next use.
func (s *session) rest() {
	if z := s.seal; z != nil {
		z.in = nil // c.cur may point into it: it stays alive while it does
		if z.sealOut != nil && len(z.wire) == 0 {
			z.sealOut = nil // no batch under way
		}
	}
	if r, ok := s.s.(rester); ok {
		r.rest()
	}
}

// rester is a session with state of its own to let go of (a secured
// conn's transport and scratch).
type rester interface{ rest() }

// rest rests the transport and drops the inner session's scratch.
func (s *secureSession) rest() {
	if r, ok := s.t.(contract.Rester); ok {
		r.Rest()
	}
	if in := s.in; in != nil {
		in.buf, in.msgs = nil, nil
		if len(in.plain) == 0 {
			in.plain = nil
		}
	}
}

// dropSession lets go of c's session, taking it out of its loop's warm
// ring.
func (m *Machine) dropSession(c *conn) {
	if c.sess != nil {
		m.warm.leave(c.sess)
	}
	c.sess = nil
	if c.bulk != nil {
		c.bulk.ktls = nil // a reconnect's next connection is secured anew
	}
}
