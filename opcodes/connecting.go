package opcodes

import (
	"fmt"
	"strings"
	"time"
)

// A connect endpoint pxroute opens itself joins its routes when it is
// opened, not when its first connection is made: messages for it queue
// from the start, up to its marks under its policy, exactly as they do
// while it reconnects after a loss (suspend).
//
// Its failed attempts, from the first until one succeeds, are one episode:
// logged at warn when it starts ("connecting" before the endpoint's first
// connection, "connection lost, reconnecting" after), at debug while it
// lasts and at info when a connection ends it.

// prologue runs the part of a connecting conn's program that needs no
// connection — its handlers and its joins — for a conn pxroute opened
// itself (a dialled conn lives and dies with its peer: it joins nothing).
// The rest runs once connected.
func (m *Machine) prologue(c *conn) {
	if c.start == 0 || c.failed {
		return
	}
	for {
		in := &m.inst[c.rpc]
		switch in.Op {
		case OpHandle:
			c.epc, c.wpc = in.Arg, in.Alt
		case OpJoin:
			m.join(c, in.Arg, in.Alt)
		default:
			return
		}
		m.ops[in.Op]++
		c.rpc = in.Out
	}
}

// link is one connect endpoint's history on this loop.
type link struct {
	state linkState
	err   error // the last attempt's failure; nil after a plain loss
	fails int   // attempts failed in this episode
}

type linkState uint8

const (
	linkNew          linkState = iota // never connected, nothing failed yet
	linkConnecting                    // never connected; an episode, logged
	linkUp                            // connected
	linkReconnecting                  // lost after being up; an episode, logged
)

func (m *Machine) link(ep uint32) *link {
	if m.links == nil {
		m.links = make([]link, len(m.prog.Endpoints))
	}
	return &m.links[ep]
}

// connectFailed records a refused or failed connect of c. A dialled conn is
// not retried: the episode's first failure is logged here. An opened one
// is, and retrying logs it.
func (m *Machine) connectFailed(c *conn, err error) {
	l := m.link(c.ep)
	l.err = err
	l.fails++
	if c.start != 0 {
		return
	}
	switch l.state {
	case linkNew:
		l.state = linkConnecting
	case linkUp:
		l.state = linkReconnecting
	default:
		m.log.Debug("connect failed", "endpoint", m.prog.Endpoints[c.ep], "err", err)
		return
	}
	m.log.Warn("connect failed", "endpoint", m.prog.Endpoints[c.ep], "addr", addrOf(c.endpoint), "err", err)
}

// retrying says that endpoint ep, down, is tried again in d, with queued
// messages waiting for it.
func (m *Machine) retrying(ep uint32, d time.Duration, queued int) {
	l := m.link(ep)
	msg := "connecting"
	switch l.state {
	case linkNew:
		l.state = linkConnecting
	case linkUp:
		msg = "connection lost, reconnecting"
		l.state = linkReconnecting
	default:
		m.log.Debug("retrying", "endpoint", m.prog.Endpoints[ep], "in", d.Round(time.Millisecond), "queued", queued, "err", l.err)
		return
	}
	args := []any{"endpoint", m.prog.Endpoints[ep], "addr", addrOf(m.rt.eps[ep]), "in", d.Round(time.Millisecond), "queued", queued}
	if l.err != nil {
		args = append(args, "err", l.err)
	}
	m.log.Warn(msg, args...)
}

// connected ends c's endpoint's episode, if one was going on.
func (m *Machine) connected(c *conn) {
	l := m.link(c.ep)
	if l.state == linkConnecting || l.state == linkReconnecting {
		m.log.Info("connected", "endpoint", m.prog.Endpoints[c.ep], "addr", addrOf(c.endpoint), "after_failures", l.fails)
	} else {
		m.log.Debug("connected", "endpoint", m.prog.Endpoints[c.ep])
	}
	*l = link{state: linkUp}
}

// addrOf is where e connects, as the topology wrote it: its description
// after "connect " ("tcp connect 127.0.0.1:7400"), else all of it.
func addrOf(e Endpoint) string {
	s, ok := e.(fmt.Stringer)
	if !ok {
		return ""
	}
	d := s.String()
	if _, addr, ok := strings.Cut(d, " connect "); ok {
		return addr
	}
	return d
}
