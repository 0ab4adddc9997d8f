package opcodes

import "sync/atomic"

// no_route means a message reached nobody, decided over every loop. The
// loop that reads a group message delivers it to its own members and posts
// it to each other loop with members; whether it reached anyone is known
// only once each of those loops has delivered it. A message that reached a
// member on its own loop is routed: no other loop counts it, whatever its
// members' topics say or however many left meanwhile. One posted to a
// single other loop is settled there. One posted to several, having
// reached nobody at home, carries a ticket they all settle: the last to
// settle counts it if none delivered it.

// routeTicket is one message's outcome shared by the loops it was posted to.
type routeTicket struct {
	pending atomic.Int32 // loops still to settle
	reached atomic.Bool  // some loop delivered it
}

// newRouting returns how a message that reached home members (or not) goes
// to loops other loops: routed, or a ticket when several must agree.
func newRouting(home int, loops int) (routed bool, t *routeTicket) {
	if home > 0 {
		return true, nil
	}
	if loops > 1 {
		t = new(routeTicket)
		t.pending.Store(int32(loops))
	}
	return false, t
}

// settleRoute records what this loop's delivery of msg reached, and counts the
// message no_route at its source when it reached nobody anywhere.
func (m *Machine) settleRoute(msg *batchMsg, delivered bool) {
	switch {
	case msg.routed:
	case msg.ticket == nil:
		if !delivered {
			m.counters[msg.src].Lost[DropNoRoute]++
			m.edgeFigs[msg.edge].Lost[DropNoRoute]++
		}
	default:
		if delivered {
			msg.ticket.reached.Store(true)
		}
		if msg.ticket.pending.Add(-1) == 0 && !msg.ticket.reached.Load() {
			m.counters[msg.src].Lost[DropNoRoute]++
			m.edgeFigs[msg.edge].Lost[DropNoRoute]++
		}
	}
}
