package opcodes

import (
	"time"

	"github.com/pxroute/pxroute/contract"
)

// Request/reply: a requester's message goes to one worker connection
// (pick), and each worker answers its requests one reply each, in the
// order it got them. A worker keeps, oldest first, who asked each request
// it holds (roles.replies), so a reply finds its requester by order alone.
// A requester counts the requests workers hold for it (roles.awaiting):
// its half-close waits for them. A request is over when its reply comes,
// when the worker holding it closes (counted Unanswered), or when it has
// waited reply_timeout, which closes that worker: after a timeout no late
// reply can reach the wrong requester, because no reply can come at all.

// asked is one request a worker connection holds.
type asked struct {
	who connRef
	at  int64 // unix nanoseconds it was handed to the worker; 0: no reply_timeout
}

// heldRequest is a request that found every worker at max_outstanding
// under a block edge: a copy waits with its requester, which reads no
// more until a worker has room.
type heldRequest struct {
	group uint32
	edge  uint32
	frID  uint32
	fr    contract.Framing
	msg   message // a copy: its wire and parts are its own
}

// requestState is one loop's request/reply bookkeeping.
type requestState struct {
	held  []connRef     // requesters holding requests, oldest first
	sweep time.Duration // the reply_timeout sweep's period; 0: not armed
}

// request sends c's message to one worker of group g.
func (m *Machine) request(c *conn, g, ei uint32, msg message) {
	if c.ro != nil && len(c.ro.held) > 0 {
		m.hold(c, g, ei, msg) // behind the ones already waiting
		m.dispatchHeld()
		return
	}
	e := m.edge(ei)
	d := m.pick(g, e)
	if d == nil {
		m.counters[c.ep].Lost[DropNoRoute]++
		m.edgeFigs[ei].Lost[DropNoRoute]++
		return
	}
	if m.atMax(d) {
		if pol, _ := e.limits(d); pol != contract.PolicyBlock {
			// Every worker is at its mark in requests: the policy drops,
			// as it would at a queue's mark.
			m.counters[d.ep].Offered++
			m.counters[d.ep].Drops[DropHWM]++
			m.edgeFigs[ei].Offered++
			m.edgeFigs[ei].Drops[DropHWM]++
			return
		}
		m.hold(c, g, ei, msg)
		return
	}
	m.ask(c, d, ei, c.terms.frID, c.terms.fr, msg)
	m.blockOnGroup(c, g, e)
}

// ask delivers a request to worker d over edge ei and notes who asked.
func (m *Machine) ask(src, d *conn, ei, frID uint32, fr contract.Framing, msg message) {
	if !m.deliver(src, d, m.edge(ei), &m.edgeFigs[ei], frID, fr, &msg) {
		return
	}
	a := asked{who: connRef{src, src.gen}}
	if t := m.rt.set[d.ep].Replies.Timeout; t > 0 {
		a.at = time.Now().UnixNano()
		m.armReplySweep(t)
	}
	r := d.roles()
	r.replies = append(r.replies, a)
	src.roles().awaiting++
}

// atMax says worker d holds max_outstanding requests.
func (m *Machine) atMax(d *conn) bool {
	n := m.rt.set[d.ep].Replies.MaxOutstanding
	return n > 0 && d.ro != nil && len(d.ro.replies)-d.ro.replyAt >= n
}

// hold keeps a copy of a request no worker has room for and stops its
// requester reading.
func (m *Machine) hold(c *conn, g, ei uint32, msg message) {
	r := c.roles()
	if len(r.held) == 0 {
		m.req.held = append(m.req.held, connRef{c, c.gen})
	}
	r.held = append(r.held, heldRequest{group: g, edge: ei, frID: c.terms.frID, fr: c.terms.fr, msg: msg.clone()})
	c.blocked = true
}

// dispatchHeld gives held requests, oldest first, to workers with room,
// and lets their requesters read again once theirs are all out.
func (m *Machine) dispatchHeld() {
	if len(m.req.held) == 0 {
		return
	}
	waiting := m.req.held
	m.req.held = nil
	var keep []connRef
	for _, ref := range waiting {
		c := ref.live()
		if c == nil || c.ro == nil || len(c.ro.held) == 0 {
			continue
		}
		r := c.ro
		c.blocked = false // deliver may block it again on a full queue
		for len(r.held) > 0 {
			h := &r.held[0]
			d := m.pick(h.group, m.edge(h.edge))
			if d == nil {
				m.counters[c.ep].Lost[DropNoRoute]++ // no worker is left
				m.edgeFigs[h.edge].Lost[DropNoRoute]++
			} else if m.atMax(d) {
				break
			} else {
				m.ask(c, d, h.edge, h.frID, h.fr, h.msg)
			}
			r.held[0] = heldRequest{}
			r.held = r.held[1:]
		}
		if len(r.held) > 0 {
			c.blocked = true
			keep = append(keep, ref)
			continue
		}
		r.held = nil
		if !c.blocked && c.parked {
			c.parked = false
			m.wake = append(m.wake, ref)
		}
		if r.shutAnswered && r.awaiting == 0 {
			m.shutAnswered(c)
		}
	}
	m.req.held = append(keep, m.req.held...)
}

// reply sends worker c's message to the requester of its oldest
// outstanding request.
func (m *Machine) reply(c *conn, ei uint32, msg message) {
	r := c.ro
	if r == nil || r.replyAt == len(r.replies) {
		m.counters[c.ep].Lost[DropNoRoute]++ // an answer nobody asked for
		m.edgeFigs[ei].Lost[DropNoRoute]++
		return
	}
	to := r.replies[r.replyAt].who.live()
	r.replies[r.replyAt] = asked{}
	r.replyAt++
	r.compact()
	if to == nil {
		m.counters[c.ep].Lost[DropNoRoute]++ // the requester has gone
		m.edgeFigs[ei].Lost[DropNoRoute]++
	} else {
		m.deliver(c, to, m.edge(ei), &m.edgeFigs[ei], c.terms.frID, c.terms.fr, &msg)
		m.answered(to)
	}
	m.dispatchHeld() // c has room for one more
}

// compact keeps a worker's list of requests from growing while it always
// has some outstanding.
func (r *roles) compact() {
	switch {
	case r.replyAt == len(r.replies):
		r.replies, r.replyAt = r.replies[:0], 0
	case r.replyAt >= 256 && 2*r.replyAt >= len(r.replies):
		n := copy(r.replies, r.replies[r.replyAt:])
		clear(r.replies[n:])
		r.replies, r.replyAt = r.replies[:n], 0
	}
}

// answered ends one of requester c's waits; a half-closed requester with
// nothing left to wait for shuts its write side once its replies are out.
func (m *Machine) answered(c *conn) {
	r := c.ro
	if r == nil || r.awaiting == 0 {
		return
	}
	r.awaiting--
	if r.awaiting == 0 && len(r.held) == 0 && r.shutAnswered {
		m.shutAnswered(c)
	}
}

// deferShut reports whether t's half-close must wait for the replies to
// its requests; it then happens when the last is over (answered).
func (m *Machine) deferShut(t *conn) bool {
	r := t.ro
	if r == nil || (r.awaiting == 0 && len(r.held) == 0) {
		return false
	}
	r.shutAnswered = true
	return true
}

// shutAnswered does the half-close a requester asked for at its end of
// input: its last replies are written first (not left for the turn's
// flush, which would not look at the half-close again).
func (m *Machine) shutAnswered(c *conn) {
	c.ro.shutAnswered = false
	if c.dirty {
		c.dirty = false
		m.writeNow(c)
		if c.closed() || c.failed {
			return
		}
	}
	c.askShut()
	m.runWriter(c)
}

// requestsLost ends the requests worker c holds as it goes, but the last
// keep (still queued for a connection that comes back): each is counted
// Unanswered and its requester's wait ends.
func (m *Machine) requestsLost(c *conn, keep int) {
	r := c.ro
	if r == nil || r.replyAt == len(r.replies) {
		return
	}
	lost := r.replies[r.replyAt : len(r.replies)-min(keep, len(r.replies)-r.replyAt)]
	if len(lost) > 0 {
		m.log.Warn("worker closed with requests unanswered", "endpoint", m.prog.Endpoints[c.ep], "requests", len(lost))
	}
	m.counters[c.ep].Unanswered += uint64(len(lost))
	for i, a := range lost {
		lost[i] = asked{}
		if to := a.who.live(); to != nil {
			m.answered(to)
		}
	}
	r.replyAt += len(lost)
	now := time.Now().UnixNano()
	for i := r.replyAt; i < len(r.replies); i++ {
		if r.replies[i].at != 0 {
			r.replies[i].at = now // their wait starts again with the new connection
		}
	}
	r.compact()
	m.dispatchHeld()
}

// dropHeld counts a closing requester's held requests as dropped: no
// worker took them.
func (m *Machine) dropHeld(c *conn) {
	if c.ro != nil && len(c.ro.held) > 0 {
		m.counters[c.ep].Lost[DropNoRoute] += uint64(len(c.ro.held))
		for _, h := range c.ro.held {
			m.edgeFigs[h.edge].Lost[DropNoRoute]++
		}
		c.ro.held = nil
	}
}

// armReplySweep makes sure the loop looks for overdue requests at least
// every quarter of timeout: one timer a loop, never one per request.
func (m *Machine) armReplySweep(timeout time.Duration) {
	every := max(timeout/4, idleSweepMin)
	armed := m.req.sweep != 0
	if armed && m.req.sweep <= every {
		return
	}
	m.req.sweep = every
	if !armed {
		m.port.After(every, token(tagReplies, 0, 0))
	}
}

// sweepReplies closes each worker whose oldest request has waited past
// its reply_timeout: it is hoarding or hung, and closing it fails over
// everything it holds at once. The sweep stops when nothing is pending.
func (m *Machine) sweepReplies() {
	now := time.Now().UnixNano()
	pending := false
	for _, c := range m.conns {
		if c == nil || c.closed() || c.down() || c.ro == nil || c.ro.replyAt == len(c.ro.replies) {
			continue
		}
		oldest := c.ro.replies[c.ro.replyAt].at
		if oldest == 0 {
			continue
		}
		if t := m.rt.set[c.ep].Replies.Timeout; now-oldest > int64(t) {
			m.log.Warn("closing a worker that did not answer within reply_timeout", "endpoint", m.prog.Endpoints[c.ep],
				"after", t, "requests", len(c.ro.replies)-c.ro.replyAt)
			m.counters[c.ep].ReplyTimeouts++
			m.close(c, DropDisconnect)
			if c.closed() || c.ro == nil || c.ro.replyAt == len(c.ro.replies) {
				continue
			}
		}
		pending = true
	}
	if m.stopping || !pending {
		m.req.sweep = 0
		return
	}
	m.port.After(m.req.sweep, token(tagReplies, 0, 0))
}
