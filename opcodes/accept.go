package opcodes

import (
	"time"

	"github.com/pxroute/pxroute/completion"
	"golang.org/x/sys/unix"
)

// Listening: a listener's accept is kept armed, and each accepted
// descriptor is admitted (admission.go) and handed to a loop.

type listener struct {
	pc    uint32
	ep    uint32
	fd    int
	next  int  // round-robin cursor over loops
	pause bool // in an episode of failed accepts (EMFILE): retried on a timer
	// resuming: an accept succeeded after the pause; the episode ends
	// (and is said to) at the next success, not at one descriptor freed
	// for a moment, which the very next accept would fail again for.
	resuming bool
	// admission: the accept-rate bucket (the limits are the endpoint's settings)
	tokens   float64
	filled   time.Time
	refusing bool // in an episode of refusals: logged once
}

func (m *Machine) armAccept(i uint32) {
	l := m.lists[i]
	if err := m.port.Accept(l.fd, token(tagListener, 0, i)); err != nil {
		m.log.Error("accept", "endpoint", m.prog.Endpoints[l.ep], "err", err)
	}
}

func (m *Machine) accepted(i uint32, cp *completion.Completion) {
	if int(i) >= len(m.lists) || m.lists[i].fd < 0 {
		if cp.Err == 0 {
			completion.Close(cp.N)
		}
		return
	}
	l := m.lists[i]
	switch cp.Err {
	case 0:
		switch {
		case l.pause:
			l.pause, l.resuming = false, true
		case l.resuming:
			l.resuming = false
			m.log.Info("accept resumed", "endpoint", m.prog.Endpoints[l.ep])
		}
	case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
		// Out of descriptors or memory: retry every 100ms instead of
		// spinning, and say so once per episode.
		if !l.pause && !l.resuming {
			m.log.Warn("accept paused", "endpoint", m.prog.Endpoints[l.ep], "err", cp.Err)
		}
		l.pause, l.resuming = true, false
		m.port.After(100*time.Millisecond, token(tagAccept, 0, i))
		return
	default:
		m.armAccept(i) // ECONNABORTED and friends: the next one may be fine
		return
	}
	// Accept stays armed: no resubmission per connection.
	if !m.admit(l, cp.N) {
		completion.Close(cp.N)
		return
	}
	if m.rt.set[l.ep].Admission.MaxConns > 0 {
		m.rt.listenConns[l.ep].Add(1) // taken back when the conn closes
	}
	target := l.next % len(m.rt.machines)
	l.next++
	if pin := m.rt.pin(l.ep); pin >= 0 {
		target = pin
	}
	if target == m.id {
		m.adopt(cp.N, l.ep, m.inst[l.pc].Out)
		return
	}
	m.post(target, &connMail{fd: cp.N, ep: l.ep, pc: m.inst[l.pc].Out})
}
