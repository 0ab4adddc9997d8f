package opcodes

import "time"

// Retiring part of a program: a reload stops the components it replaces
// or removes while the rest of the runtime runs on. No route joins a
// retired endpoint to one that stays, so nothing else notices.

type retireMail struct {
	eps      []bool // by endpoint index
	deadline time.Duration
	ack      func()
}

// Retire stops the endpoints marked in eps as Stop stops everything, while
// the rest of the program runs on: their listeners close at once (Retire
// returns once they have, so their addresses are free again), reading from
// their connections stops, and their queued output has up to drain to
// flow out before they close; what is left then counts as shutdown drops.
func (rt *Runtime) Retire(eps []bool, drain time.Duration) {
	acks := make(chan struct{}, len(rt.machines))
	for _, m := range rt.machines {
		m.loop.Post(retireMail{eps: eps, deadline: drain, ack: func() { acks <- struct{}{} }})
	}
	for range rt.machines {
		select {
		case <-acks:
		case <-rt.exited:
			return
		}
	}
}

// retire handles a retireMail on this loop.
func (m *Machine) retire(v retireMail) {
	if m.retired == nil {
		m.retired = make([]bool, len(m.rt.eps))
	}
	for i, r := range v.eps {
		if r {
			m.retired[i] = true
		}
	}
	settle := false
	for _, l := range m.lists {
		if l.fd >= 0 && m.retired[l.ep] {
			m.port.Cancel(l.fd)
			settle = true
		}
	}
	if settle {
		// The replacement may bind the same address as soon as we ack:
		// the armed accepts must have let go of the sockets first.
		m.port.Settle()
	}
	for _, l := range m.lists {
		if l.fd >= 0 && m.retired[l.ep] {
			m.rt.eps[l.ep].Release(l.fd)
			l.fd = -1
			m.rt.liveDone()
		}
	}
	v.ack()
	for _, c := range m.conns {
		if c != nil && !c.closed() && m.retired[c.ep] {
			m.retiring = append(m.retiring, c)
		}
	}
	m.port.After(v.deadline, token(tagRetire, 0, 0))
}

// isRetired reports whether endpoint ep has been retired on this loop.
func (m *Machine) isRetired(ep uint32) bool { return m.retired != nil && m.retired[ep] }

// finishRetiring closes the retiring conns that have nothing left to
// write, or all of them once the drain deadline has passed.
func (m *Machine) finishRetiring(deadline bool) {
	keep := m.retiring[:0]
	for _, c := range m.retiring {
		switch {
		case c.closed():
		case deadline || c.queued() == 0 && !c.sending && !c.connecting():
			m.close(c, DropShutdown)
		default:
			keep = append(keep, c)
		}
	}
	clear(m.retiring[len(keep):])
	m.retiring = keep
}
