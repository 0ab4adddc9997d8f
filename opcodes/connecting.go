package opcodes

import (
	"fmt"
	"strings"
	"time"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/contract"
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
	m.log.Warn("connect failed", "endpoint", m.prog.Endpoints[c.ep], "addr", addrOf(m.rt.eps[c.ep]), "err", err)
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
		m.log.Info("connected", "endpoint", m.prog.Endpoints[c.ep], "addr", addrOf(m.rt.eps[c.ep]), "after_failures", l.fails)
	} else {
		m.log.Debug("connected", "endpoint", m.prog.Endpoints[c.ep])
	}
	*l = link{state: linkUp}
}

// addrOf is where e connects, as the topology wrote it: its description
// after "connect " ("tcp connect 127.0.0.1:7400"), else all of it.
func addrOf(e contract.Endpoint) string {
	d := e.String()
	if _, addr, ok := strings.Cut(d, " connect "); ok {
		return addr
	}
	return d
}

// connect opens endpoint ep for a new conn starting at pc.
func (m *Machine) connect(ep uint32, pc uint32) (*conn, error) {
	e := m.rt.eps[ep]
	switch e.Role() {
	case contract.RoleConnect:
		fd, sa, err := e.Socket()
		if err != nil {
			return nil, err
		}
		c := m.newConn(fd, ep, pc)
		c.inline, c.life = true, connConnecting
		if err := m.port.Connect(fd, sa, m.tok(c)); err != nil {
			m.close(c, DropDisconnect)
			return nil, err
		}
		return c, nil
	case contract.RoleOpen:
		fd, err := e.Open()
		if err != nil {
			return nil, err
		}
		c := m.newConn(fd, ep, pc)
		c.inline = completion.Pollable(fd)
		m.openSession(c)
		return c, nil
	}
	return nil, fmt.Errorf("endpoint %s cannot be dialled", m.prog.Endpoints[ep])
}

func (m *Machine) dial(c *conn, in *Inst) {
	if m.dialFails == nil {
		m.dialFails = make([]uint64, len(m.prog.Endpoints))
	}
	p, err := m.connect(in.Arg, in.Alt)
	if err != nil {
		// One episode, one line: every client refused at max_children
		// would otherwise write one.
		if m.dialFails[in.Arg] == 0 {
			m.log.Warn("dial failed (until one works again, failures are counted as errors, not logged)", "endpoint", m.prog.Endpoints[in.Arg], "err", err)
		}
		m.dialFails[in.Arg]++
		m.counters[in.Arg].Errors++
		m.fail(c, DropDisconnect, errnoOf(err))
		return
	}
	if n := m.dialFails[in.Arg]; n > 0 {
		m.log.Info("dialling works again", "endpoint", m.prog.Endpoints[in.Arg], "failed", n)
		m.dialFails[in.Arg] = 0
	}
	c.peer, p.peer = p, c
	m.run(p)
}

// suspend keeps a lost conn whose open the compiler flagged reconnect (a
// connect endpoint the router opens itself: a fan-out sink, a merge sink,
// a source it connects to) instead of closing it: its descriptor goes, but its place in groups and its queue stay, so
// messages keep queueing up to its marks under its overflow policy while a
// new connection is made after a backoff. Messages a write had started on
// are dropped (disconnect): the new connection must not get their tails.
// It reports false when c should close for good: stopping, a dialled conn,
// or the backoff gave up.
func (m *Machine) suspend(c *conn) bool {
	if c.start == 0 || m.inst[c.start].Flags&FlagReconnect == 0 || m.stopping || m.isRetired(c.ep) || c.peer != nil || c.spliceOut() || c.pipeFill() > 0 {
		return false
	}
	if c.retry == nil {
		c.retry = new(contract.BackoffState)
	}
	d, ok := c.retry.Next(m.rt.set[c.ep].Reconnect, time.Now())
	if !ok {
		m.log.Warn("giving up reconnecting", "endpoint", m.prog.Endpoints[c.ep], "queued", c.out.msgs())
		return false
	}
	m.streamAborted(c)
	m.dropPipe(c)
	if c.fd >= 0 {
		m.port.Cancel(c.fd)
		m.rt.eps[c.ep].Release(c.fd)
		c.fd = -1
		m.counters[c.ep].Closed++
		m.active[c.ep]--
	}
	had := c.queued()
	inflight := 0
	if c.sending {
		inflight = c.inflight
	}
	if z := c.sealed(); z != nil && z.covering() > 0 {
		inflight = max(inflight, z.covers) // a sealed batch is started whole
		if u, ok := c.sess.s.(contract.SealUndoer); ok {
			u.UndoSeal() // its messages are dropped just below
		}
	}
	msgs, n := c.out.abandonStarted(&m.chunks, inflight)
	m.counters[c.ep].Drops[DropDisconnect] += uint64(msgs)
	m.counters[c.ep].QueuedMsgs -= int64(msgs)
	m.counters[c.ep].Queued -= int64(n)
	if had > 0 && c.queued() == 0 {
		m.busy--
	}
	m.requestsLost(c, c.out.msgs()) // what is still queued goes to the new connection
	m.releaseInput(c)
	c.in, c.cur, c.msg = nil, nil, nil
	// Completions of the old descriptor's operations must not find c:
	// a new generation makes their tokens stale.
	c.gen++
	c.sending, c.recvPending, c.readDone, c.shut = false, false, false, shutNone
	c.peerGone, c.failed, c.parked, c.blocked = false, false, false, false
	c.epc, c.wpc = 0, 0
	m.dropSessionTopics(c) // the next session subscribes afresh
	m.dropSession(c)       // the next connection has a session of its own
	c.life = connDown
	m.wakeAll(c) // its senders go on: what they send now queues or drops by policy
	m.retrying(c.ep, d, c.out.msgs())
	m.port.After(d, token(tagReconnect, c.gen, c.slot))
	return true
}

// reconnect makes a new connection for a suspended conn; its program runs
// again from the start once connected (joins are kept, not repeated).
func (m *Machine) reconnect(c *conn) {
	fd, sa, err := m.rt.eps[c.ep].Socket()
	if err == nil {
		c.fd = fd
		c.inline = true
		m.counters[c.ep].Opened++
		m.active[c.ep]++
		if err = m.port.Connect(fd, sa, m.tok(c)); err == nil {
			c.life = connConnecting
			c.rpc = m.inst[c.start].Out
			return
		}
	}
	m.log.Debug("reconnect failed", "endpoint", m.prog.Endpoints[c.ep], "err", err)
	m.counters[c.ep].Errors++
	m.close(c, DropDisconnect) // suspends it again, or gives up
}
