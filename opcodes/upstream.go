package opcodes

import (
	"bytes"
	"sync"

	"github.com/pxroute/pxroute/contract"
)

// The upstream seam: a fan-out group's subscriptions, summed over its
// destinations on every loop, flow back to the sessions of the conns
// that feed it (contract.Upstream: an XSUB tells its PUB, as zmq_proxy
// does). Each group fed by a Sessioned endpoint keeps a union, shared by
// the loops under a lock taken only when a destination's subscriptions
// change or a member joins or leaves, never per message. A change of the
// union (a prefix's first hold or last release) is posted, under that
// lock, to every loop, so each loop's mail carries the changes in the
// order they happened; a version number lets a source that synced with
// the union after a change was posted skip its mail.

// topicUnion is one group's subscriptions over its destinations: for each
// prefix, how many of them hold it. A destination that filters nothing
// holds the empty prefix.
type topicUnion struct {
	mu   sync.Mutex
	held map[string]int
	ver  uint64 // changes so far
}

// upstreamMail is one change of group g's union, posted to every loop.
type upstreamMail struct {
	group  uint32
	prefix []byte
	on     bool
	ver    uint64
}

// upstreamConn is a source conn whose session hears of its group's
// union, and the last change it heard of. It stands while c.sess is s.
type upstreamConn struct {
	c      *conn
	s      *session
	synced uint64
}

// newUnions makes a union for each fan-out group an endpoint with a
// session feeds (nil for the others: they pay nothing), and marks the
// fan-out groups.
func newUnions(p *Prog, set []contract.Settings) (unions []*topicUnion, fanout []bool) {
	unions, fanout = make([]*topicUnion, len(p.Groups)), make([]bool, len(p.Groups))
	for ep, gs := range p.Feeds {
		_, sessioned := set[ep].Framing.(contract.Sessioned)
		for _, g := range gs {
			fanout[g] = true
			if sessioned && unions[g] == nil {
				unions[g] = &topicUnion{held: map[string]int{}}
			}
		}
	}
	return unions, fanout
}

// unionOf returns group g's union, or nil: nobody could hear of it.
func (rt *Runtime) unionOf(g uint32) *topicUnion {
	if int(g) < len(rt.unions) {
		return rt.unions[g]
	}
	return nil
}

// isFanout reports whether group g is a fan-out's destinations.
func (rt *Runtime) isFanout(g uint32) bool { return int(g) < len(rt.fanout) && rt.fanout[g] }

// unionChange adds (on) or removes one hold on prefix in group g's union,
// and tells every loop when that was the first or the last.
func (m *Machine) unionChange(g uint32, prefix []byte, on bool) {
	u := m.rt.unionOf(g)
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	n := u.held[string(prefix)]
	switch {
	case on:
		n++
	case n == 0:
		return // not held: nothing to release
	default:
		n--
	}
	if n == 0 {
		delete(u.held, string(prefix))
	} else {
		u.held[string(prefix)] = n
	}
	if on && n != 1 || !on && n != 0 {
		return
	}
	u.ver++
	mail := upstreamMail{group: g, prefix: bytes.Clone(prefix), on: on, ver: u.ver}
	for i := range m.rt.machines {
		m.post(i, mail) // a loop that has finished has no sources to tell
	}
}

// unionJoin adds what c, joining group g, holds there to its union;
// unionLeave takes it away as c leaves.
func (m *Machine) unionJoin(c *conn, g uint32)  { m.unionHolds(c, g, true) }
func (m *Machine) unionLeave(c *conn, g uint32) { m.unionHolds(c, g, false) }

func (m *Machine) unionHolds(c *conn, g uint32, on bool) {
	if m.rt.unionOf(g) == nil {
		return
	}
	f := c.ro.filterOrNil(g)
	if f == nil {
		m.unionChange(g, nil, on) // it takes everything
		return
	}
	f.topics.each(func(p []byte) { m.unionChange(g, p, on) })
}

// syncUpstream tells c's newly established session, if it forwards
// subscriptions, what the groups it feeds hold now, and has it hear of
// their changes from here on.
func (m *Machine) syncUpstream(c *conn) {
	up, ok := c.sess.s.(contract.Upstream)
	if !ok || int(c.ep) >= len(m.rt.prog.Feeds) {
		return
	}
	out := c.sess.ctl
	for _, g := range m.rt.prog.Feeds[c.ep] {
		u := m.rt.unionOf(g)
		if u == nil {
			continue
		}
		if m.ups == nil {
			m.ups = make([][]upstreamConn, len(m.rt.unions))
		}
		u.mu.Lock()
		for p := range u.held {
			out = up.Subscribe([]byte(p), true, out)
		}
		m.ups[g] = append(liveUpstreams(m.ups[g]), upstreamConn{c: c, s: c.sess, synced: u.ver})
		u.mu.Unlock()
	}
	m.ctlOut(c, out)
}

// upstreamChanged passes a change of a group's union to the sessions of
// this loop's conns that feed it, and have not heard of it.
func (m *Machine) upstreamChanged(v upstreamMail) {
	if m.ups == nil {
		return
	}
	m.ups[v.group] = liveUpstreams(m.ups[v.group])
	for i := range m.ups[v.group] {
		e := &m.ups[v.group][i]
		if v.ver <= e.synced {
			continue // it synced after this change
		}
		e.synced = v.ver
		m.ctlOut(e.c, e.s.s.(contract.Upstream).Subscribe(v.prefix, v.on, e.s.ctl))
	}
}

// liveUpstreams drops the conns whose session has ended from list.
func liveUpstreams(list []upstreamConn) []upstreamConn {
	live := list[:0]
	for _, e := range list {
		if e.c.sess == e.s && !e.c.closed() && !e.c.failed {
			live = append(live, e)
		}
	}
	clear(list[len(live):])
	return live
}
