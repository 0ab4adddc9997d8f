package opcodes

import (
	"time"

	"github.com/pxroute/pxroute/contract"
)

// The idle sweep: one timer a loop closes conns past idle_timeout or
// frame_timeout, or whose session's handshake is overdue.

// armIdleSweep starts the loop's idle sweep if any endpoint has an
// idle_timeout or frame_timeout: every quarter of the shortest one, conns
// past theirs are closed. One timer a loop, not one per connection.
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
	if shortest == 0 {
		return
	}
	m.idleEvery = max(shortest/4, idleSweepMin)
	m.port.After(m.idleEvery, token(tagIdle, 0, 0))
}

// sweepMail runs the idle sweep one loop iteration after its timer fired.
// A loop held up (a stopped process, a long pause) wakes to the overdue
// timer, and the input that arrived meanwhile may come only with the next
// look at the port: a conn whose input was waiting is not idle. The mail
// makes that look not wait, and is handled after what it brings.
type sweepMail struct{}

// sweepIdle closes the conns quiet for longer than their idle_timeout.
func (m *Machine) sweepIdle() {
	if m.stopping {
		return
	}
	now := time.Now().UnixNano()
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
	m.port.After(m.idleEvery, token(tagIdle, 0, 0))
}
