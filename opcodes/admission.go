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
