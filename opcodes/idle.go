package opcodes

import (
	"time"

	"github.com/pxroute/pxroute/contract"
)

// The idle sweep: one timer a loop closes conns past idle_timeout or
// frame_timeout, or whose session's handshake is overdue, and ticks the
// sessions that act on time (session_tick.go).

// armIdleSweep starts the loop's idle sweep if any endpoint has an
// idle_timeout or frame_timeout, or a session with a handshake or ticks:
// every quarter of the shortest timeout, conns past theirs are closed;
// every tick period, if shorter, the ticking sessions are ticked. One
// timer a loop, not one per connection.
func (m *Machine) armIdleSweep() {
	var shortest time.Duration
	for i := range m.rt.set {
		handshake := time.Duration(0)
		if _, ok := m.rt.set[i].Framing.(contract.Sessioned); ok {
			handshake = m.rt.set[i].HandshakeTimeout()
		}
		for _, d := range []time.Duration{m.rt.set[i].IdleTimeout, m.rt.set[i].FrameTimeout, handshake} {
			if d > 0 && (shortest == 0 || d < shortest) {
				shortest = d
			}
		}
	}
	if shortest > 0 {
		m.ticks.walkEvery = max(shortest/4, idleSweepMin)
	}
	m.idleEvery = m.ticks.walkEvery
	if tick := m.tickPeriod(); tick > 0 && (m.idleEvery == 0 || tick < m.idleEvery) {
		m.idleEvery = tick
	}
	if m.idleEvery == 0 {
		return
	}
	m.port.After(m.idleEvery, token(tagIdle, 0, 0))
}

// sweepMail runs the idle sweep one loop iteration after its timer fired.
// A loop held up (a stopped process, a long pause) wakes to the overdue
// timer, and the input that arrived meanwhile may come only with the next
// look at the port: a conn whose input was waiting is not idle. The mail
// makes that look not wait, and is handled after what it brings.
type sweepMail struct{}

// sweepIdle ticks the ticking sessions, and, when its walk is due, closes
// the conns quiet for longer than their idle_timeout.
func (m *Machine) sweepIdle() {
	if m.stopping {
		return
	}
	now := time.Now().UnixNano()
	m.tickSessions(now)
	if m.ticks.walkEvery > 0 && now >= m.ticks.walkNext {
		// Due again a tick early rather than a tick late.
		m.ticks.walkNext = now + int64(m.ticks.walkEvery) - int64(m.idleEvery)/2
		m.walkIdle(now)
	}
	m.port.After(m.idleEvery, token(tagIdle, 0, 0))
}

// walkIdle closes the conns past their idle_timeout or frame_timeout, or
// whose handshake is overdue.
func (m *Machine) walkIdle(now int64) {
	for _, c := range m.conns {
		if c == nil || c.closed() || c.down() || m.handshakeExpired(c, now) {
			continue
		}
		switch idle, frame := m.rt.set[c.ep].IdleTimeout, m.rt.set[c.ep].FrameTimeout; {
		case c.terms.idleTimed && now-c.lastIO > int64(idle):
			m.log.Debug("idle timeout", "endpoint", m.prog.Endpoints[c.ep], "after", idle)
			m.counters[c.ep].IdleClosed++
			m.close(c, DropDisconnect)
		case c.terms.frameTimed && c.partialAt != 0 && now-c.partialAt > int64(frame):
			// A message dribbling in: a slowloris holds buffers and a
			// connection without ever going idle.
			m.log.Debug("frame timeout", "endpoint", m.prog.Endpoints[c.ep], "after", frame)
			m.counters[c.ep].FrameTimeouts++
			m.close(c, DropDisconnect)
		}
	}
}
