package opcodes

import (
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// admit checks a connection listener l just accepted against its
// endpoint's limits, before anything is read from it. A refused one is
// counted by reason and closed by the caller.
func (m *Machine) admit(l *listener, fd int) bool {
	a := &l.adm
	if !a.any() {
		return true
	}
	if a.SndBuf > 0 {
		// Best effort, as the listener's own: a refusal here is no reason
		// to turn the peer away.
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, a.SndBuf)
	}
	reason := NumRefusals
	switch {
	case (len(a.Allow) > 0 || len(a.Deny) > 0) && !a.permits(fd):
		reason = RefuseDenied
	case a.Rate > 0 && !l.takeToken(a.Rate, time.Now()):
		reason = RefuseAcceptRate
	case a.MaxConns > 0 && m.rt.listenConns[l.ep].Load() >= int64(a.MaxConns):
		reason = RefuseMaxConns
	}
	if reason != NumRefusals {
		m.counters[l.ep].Refused[reason]++
		if !l.refusing {
			l.refusing = true // say so once per episode, not per connection
			m.log.Warn("refusing connections", "endpoint", m.prog.Endpoints[l.ep], "reason", reason)
		}
		return false
	}
	l.refusing = false
	return true
}

// permits reports whether fd's peer passes allow and deny: any deny match
// refuses; a non-empty allow list must match.
func (a *Admission) permits(fd int) bool {
	sa, err := unix.Getpeername(fd)
	if err != nil {
		return false
	}
	var ip netip.Addr
	switch s := sa.(type) {
	case *unix.SockaddrInet4:
		ip = netip.AddrFrom4(s.Addr)
	case *unix.SockaddrInet6:
		ip = netip.AddrFrom16(s.Addr).Unmap()
	default:
		return len(a.Allow) == 0 // no address to judge (unix): only deny-lists pass it
	}
	for _, p := range a.Deny {
		if p.Contains(ip) {
			return false
		}
	}
	if len(a.Allow) == 0 {
		return true
	}
	for _, p := range a.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// takeToken is a token bucket of one second's worth of accepts.
func (l *listener) takeToken(rate float64, now time.Time) bool {
	if l.filled.IsZero() {
		l.tokens, l.filled = rate, now
	}
	l.tokens = min(rate, l.tokens+rate*now.Sub(l.filled).Seconds())
	l.filled = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}

// idleSweepMin bounds how often idle connections are looked for.
const idleSweepMin = 5 * time.Millisecond

// armIdleSweep starts the loop's idle sweep if any endpoint has an
// idle_timeout or frame_timeout: every quarter of the shortest one, conns
// past theirs are closed. One timer a loop, not one per connection.
func (m *Machine) armIdleSweep() {
	var shortest time.Duration
	for _, e := range m.rt.eps {
		for _, d := range []time.Duration{e.IdleTimeout(), e.FrameTimeout()} {
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

// sweepIdle closes the conns quiet for longer than their idle_timeout.
func (m *Machine) sweepIdle() {
	if m.stopping {
		return
	}
	now := time.Now().UnixNano()
	for _, c := range m.conns {
		if c == nil || c.closed || c.down {
			continue
		}
		switch idle, frame := c.endpoint.IdleTimeout(), c.endpoint.FrameTimeout(); {
		case c.idleTimed && now-c.lastIO > int64(idle):
			m.log.Debug("idle timeout", "endpoint", m.prog.Endpoints[c.ep], "after", idle)
			m.counters[c.ep].IdleClosed++
			m.close(c, DropDisconnect)
		case c.frameTimed && c.partialAt != 0 && now-c.partialAt > int64(frame):
			// A message dribbling in: a slowloris holds buffers and a
			// connection without ever going idle.
			m.log.Debug("frame timeout", "endpoint", m.prog.Endpoints[c.ep], "after", frame)
			m.counters[c.ep].FrameTimeouts++
			m.close(c, DropDisconnect)
		}
	}
	m.port.After(m.idleEvery, token(tagIdle, 0, 0))
}
