package opcodes

import (
	"time"

	"github.com/pxroute/pxroute/contract"
)

// Session ticks (contract.Ticker): a session that acts on time is ticked
// by the loop's one sweep timer (idle.go), which runs at the shortest
// period a Clocked framing asks when that is shorter than the idle
// sweep's. A tick walks only tickState.list, the conns whose sessions
// tick, never all conns; the all-conns idle walk keeps its own, slower
// schedule. A conn on a framing that does not tick pays nothing: it is
// in no list, and its reads and writes are stamped only when idleTimed.

// tickState is a loop's sweep schedule and the sessions it ticks.
type tickState struct {
	list      []ticking
	walkEvery time.Duration // the all-conns idle walk's period; 0: none
	walkNext  int64         // unix nanoseconds: when it is next due
}

// ticking is one ticking session on its conn. An entry is stale once the
// conn closes or gets a new session (a reconnect, or its slot reused):
// c.sess is then no longer s, and the next tick drops the entry. So no
// close path needs to know about ticks.
type ticking struct {
	c *conn
	s *session
	t contract.Ticker
}

// sessionClock is when a ticking session's conn last read and wrote.
type sessionClock struct {
	lastRead, lastWrite int64 // unix nanoseconds
}

// tickEvery is how often endpoint settings s's sessions need a tick; 0:
// never.
func tickEvery(s *contract.Settings) time.Duration {
	if c, ok := s.Framing.(contract.Clocked); ok {
		return c.TickEvery()
	}
	return 0
}

// tickPeriod is the shortest tick period any endpoint asks, bounded below
// as the idle sweep is; 0: none asks.
func (m *Machine) tickPeriod() time.Duration {
	var shortest time.Duration
	for i := range m.rt.set {
		if d := tickEvery(&m.rt.set[i]); d > 0 && (shortest == 0 || d < shortest) {
			shortest = d
		}
	}
	if shortest == 0 {
		return 0
	}
	return max(shortest, idleSweepMin)
}

// startTicking enters c's new session in the loop's tick list, if its
// endpoint ticks.
func (m *Machine) startTicking(c *conn) {
	if !c.terms.ticks {
		return
	}
	t, ok := c.sess.s.(contract.Ticker)
	if !ok {
		return
	}
	now := time.Now().UnixNano()
	c.sess.clock = sessionClock{lastRead: now, lastWrite: now}
	m.ticks.list = append(m.ticks.list, ticking{c: c, s: c.sess, t: t})
}

// stampRead and stampWrite note I/O on c for its idle_timeout and its
// session's ticks, the only ones to read the stamps.
func (c *conn) stampRead() {
	if c.terms.ticks && c.sess != nil {
		c.sess.clock.lastRead = time.Now().UnixNano()
	}
}

func (c *conn) stampWrite() {
	if c.terms.ticks && c.sess != nil {
		c.sess.clock.lastWrite = time.Now().UnixNano()
	}
}

// tickSessions ticks every live session in the list, once established,
// and drops the stale entries.
func (m *Machine) tickSessions(now int64) {
	live := m.ticks.list[:0]
	for _, e := range m.ticks.list {
		c, s := e.c, e.s
		if c.sess != s || c.closed() || c.down() {
			continue
		}
		live = append(live, e)
		if !s.done || s.bye || c.failed {
			continue
		}
		if c.blocked {
			// Not reading (its sends wait on a full queue): the peer's
			// silence is ours, not its; count it as heard meanwhile.
			s.clock.lastRead = now
		}
		out, err := e.t.Tick(now, s.clock.lastRead, s.clock.lastWrite, s.ctl)
		if m.ctlOut(c, out); c.failed {
			continue
		}
		if err != nil {
			m.sessionExpired(c, "heartbeat", err)
		}
	}
	clear(m.ticks.list[len(live):])
	m.ticks.list = live
}

// sessionExpired closes c for its session's verdict on time (a handshake
// overdue, a heartbeat unanswered), counted as an error, from the sweep:
// no reader of c runs to take a failure.
func (m *Machine) sessionExpired(c *conn, in string, err error) {
	m.logSessionFailure(c, in, err)
	m.counters[c.ep].Errors++
	m.close(c, DropDisconnect)
}
