package opcodes

import (
	"slices"

	"github.com/pxroute/pxroute/contract"
)

// Subscriptions a conn's session makes (contract.Topics): counted holds
// per prefix, over the same filters, bounds and matcher as in-band
// subscriptions (members.go), in every fan-out group the conn is a
// destination of. A conn of a contract.Subscriber framing starts with an
// empty filter in each, so it takes nothing until it subscribes.

// heldBefore marks, in a filter's refs, a prefix the filter held before
// the session subscribed to it (declared, or in band): the session's last
// cancel leaves it held.
const heldBefore = 1 << 31

// connTopics is the contract.Topics a Subscriber's session is given. It
// acts while c's session is s: a stale handle does nothing.
type connTopics struct {
	m *Machine
	c *conn
	s *session
}

func (t *connTopics) live() bool { return t.c.sess == t.s && !t.c.closed() }

// Subscribe adds a hold on prefix in each of c's fan-out groups and
// reports whether c holds it in all of them.
func (t *connTopics) Subscribe(prefix []byte) bool {
	if !t.live() {
		return false
	}
	m, c, all := t.m, t.c, true
	for _, g := range c.groups {
		if !m.rt.isFanout(g) {
			continue
		}
		f := c.roles().filterIn(g)
		if n := f.refs[string(prefix)]; n > 0 {
			if n&^heldBefore < heldBefore-1 { // more would wrap: it stays held
				f.refs[string(prefix)] = n + 1
			}
			continue
		}
		n := uint32(1)
		if f.topics.contains(prefix) {
			n |= heldBefore
		} else if !m.addTopic(c, f, prefix) {
			all = false
			continue
		}
		if f.refs == nil {
			f.refs = map[string]uint32{}
		}
		f.refs[string(prefix)] = n
	}
	return all
}

// Cancel takes a hold off prefix in each of c's fan-out groups; the last
// unsubscribes. A prefix the session does not hold is ignored.
func (t *connTopics) Cancel(prefix []byte) {
	if !t.live() || t.c.ro == nil {
		return
	}
	for i := range t.c.ro.filters {
		f := &t.c.ro.filters[i]
		if !slices.Contains(t.c.groups, f.group) {
			continue // left: its holds left the union with it
		}
		switch n := f.refs[string(prefix)]; n {
		case 0:
		case 1:
			t.m.removeTopic(f, prefix)
		case heldBefore | 1:
			delete(f.refs, string(prefix)) // not the session's to remove
		default:
			f.refs[string(prefix)] = n - 1
		}
	}
}

var _ contract.Topics = (*connTopics)(nil)

// addTopic puts prefix in c's filter f, within c's endpoint's max_topics
// and max_topic_bytes, and reports whether f holds it now. A refusal is
// counted, and logged once until one is accepted again.
func (m *Machine) addTopic(c *conn, f *filter, prefix []byte) bool {
	if f.topics.contains(prefix) {
		return true
	}
	refusal := NumTopicRefusals
	maxTopics, maxBytes := m.rt.set[c.ep].TopicBounds()
	switch {
	case len(prefix) > maxBytes:
		refusal = RefuseMaxTopicBytes
	case f.topics.len() >= maxTopics:
		refusal = RefuseMaxTopics
	}
	if refusal != NumTopicRefusals {
		m.counters[c.ep].TopicsRefused[refusal]++
		if !f.refusing {
			f.refusing = true // say so once per episode, not per subscription
			m.log.Warn("refusing subscriptions", "endpoint", m.prog.Endpoints[c.ep], "reason", refusal,
				"topics", f.topics.len(), "bytes", len(prefix))
		}
		return false
	}
	f.refusing = false
	f.topics.add(prefix)
	m.unionChange(f.group, prefix, true)
	return true
}

// removeTopic takes prefix out of filter f, with all its holds.
func (m *Machine) removeTopic(f *filter, prefix []byte) {
	if f.topics.remove(prefix) {
		delete(f.refs, string(prefix))
		m.unionChange(f.group, prefix, false)
	}
}

// dropSessionTopics releases what c's session held, as the session ends
// while c stays (a connect endpoint's conn goes down to reconnect: the
// next session subscribes afresh, as a ZeroMQ SUB does on reconnect).
func (m *Machine) dropSessionTopics(c *conn) {
	if c.ro == nil {
		return
	}
	for i := range c.ro.filters {
		f := &c.ro.filters[i]
		if !slices.Contains(c.groups, f.group) {
			continue // left: its holds left the union with it
		}
		for p, n := range f.refs {
			if n&heldBefore != 0 {
				delete(f.refs, p)
			} else {
				m.removeTopic(f, []byte(p))
			}
		}
	}
}
