package opcodes

import (
	"fmt"
	"time"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/contract"
)

// Opening connections: a start thread runs once per accept or open, and a
// descriptor becomes a conn with its program counter.

// exec runs a start thread (accept or open) at pc; fd >= 0 is the
// descriptor Runtime.Start already opened for it.
func (m *Machine) exec(pc uint32, fd int) {
	in := &m.inst[pc]
	m.ops[in.Op]++
	ep := m.rt.eps[in.Arg]
	switch in.Op {
	case OpAccept:
		m.rt.live.Add(1)
		m.lists = append(m.lists, &listener{pc: pc, ep: in.Arg, fd: fd, next: m.id})
		m.armAccept(uint32(len(m.lists) - 1))
	case OpOpen:
		var c *conn
		var err error
		if fd >= 0 {
			c = m.newConn(fd, in.Arg, in.Out)
			c.inline = completion.Pollable(fd)
			m.openSession(c)
		} else if c, err = m.connect(in.Arg, in.Out); err != nil {
			if ep.Role() == contract.RoleConnect {
				m.reopenLater(pc, err)
			} else {
				m.log.Error("endpoint failed", "endpoint", m.prog.Endpoints[in.Arg], "err", err)
			}
			return
		}
		c.start = pc
		delete(m.reopenWait, pc)
		m.run(c)
	default:
		panic(fmt.Sprintf("opcodes: pc %d: %v is not a start op", pc, in.Op))
	}
}

// reopenLater retries a connect endpoint whose socket could not even be
// made (out of descriptors, say), on the endpoint's reconnect schedule.
func (m *Machine) reopenLater(pc uint32, err error) {
	in := &m.inst[pc]
	s := m.reopenWait[pc]
	if s == nil {
		s = new(contract.BackoffState)
		m.reopenWait[pc] = s
	}
	d, ok := s.Next(m.rt.set[in.Arg].Reconnect, time.Now())
	if !ok {
		m.log.Error("giving up on endpoint", "endpoint", m.prog.Endpoints[in.Arg], "err", err)
		return
	}
	m.link(in.Arg).err = err
	m.retrying(in.Arg, d, 0)
	m.rt.live.Add(1)
	m.port.After(d, token(tagReopen, 0, pc))
}

// adopt makes a conn of an accepted descriptor and starts it at pc.
func (m *Machine) adopt(fd int, ep uint32, pc uint32) {
	if m.stopping || m.isRetired(ep) {
		m.refuseAdopted(&connMail{fd: fd, ep: ep})
		return
	}
	c := m.newConn(fd, ep, pc)
	c.inline = true
	c.counted = m.rt.set[ep].Admission.MaxConns > 0
	if c.terms.secure != nil {
		// Its program starts once it is secured (secure.go): it joins
		// its routes then, as a plain conn does once accepted.
		m.secure(c)
		return
	}
	m.openSession(c)
	m.run(c)
}

func (m *Machine) newConn(fd int, ep uint32, pc uint32) *conn {
	var c *conn
	if n := len(m.free); n > 0 {
		slot := m.free[n-1]
		m.free = m.free[:n-1]
		c = m.conns[slot]
		gen := c.gen + 1
		*c = conn{slot: slot, gen: gen}
	} else {
		c = &conn{slot: uint32(len(m.conns)), gen: 1}
		m.conns = append(m.conns, c)
	}
	c.fd, c.ep, c.rpc = fd, ep, pc
	if in := &m.inst[pc]; in.Op == OpHandle {
		c.atClose = in.Flags // known before its program runs: it may close first
	}
	c.terms, c.lastIO = m.termsOf(ep), time.Now().UnixNano()
	m.counters[ep].Opened++
	m.active[ep]++
	m.rt.live.Add(1)
	return c
}
