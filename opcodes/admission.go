package opcodes

import (
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/contract"
)

// admit checks a connection listener l just accepted against its
// endpoint's limits, before anything is read from it. A refused one is
// counted by reason and closed by the caller.
func (m *Machine) admit(l *listener, fd int) bool {
	s := &m.rt.set[l.ep]
	if s.SndBuf > 0 {
		// Best effort, as the listener's own: a refusal here is no reason
		// to turn the peer away.
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, s.SndBuf)
	}
	a := &s.Admission
	if !a.Limited() {
		return true
	}
	reason := NumRefusals
	switch {
	case (len(a.Allow) > 0 || len(a.Deny) > 0) && !permits(a, fd):
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

// permits reports whether fd's peer passes a's allow and deny lists.
func permits(a *contract.Admission, fd int) bool {
	sa, err := completion.Getpeername(fd)
	if err != nil {
		return false
	}
	switch s := sa.(type) {
	case *unix.SockaddrInet4:
		return a.Permits(netip.AddrFrom4(s.Addr))
	case *unix.SockaddrInet6:
		return a.Permits(netip.AddrFrom16(s.Addr).Unmap())
	}
	return len(a.Allow) == 0 // no address to judge (unix): only deny-lists pass it
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
