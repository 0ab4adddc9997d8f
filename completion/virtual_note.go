package completion

import "sync/atomic"

// note is the mail a Pipe or Listener posts about itself to the loop that
// serves it: "look at me again". At most one is in the inbox at a time,
// in a node of its own, so posting allocates nothing; a change made while
// one is queued is seen when the loop takes it, as the loop clears queued
// before it looks.
type note struct {
	node   inboxNode
	queued atomic.Bool
}

func (n *note) post(l *Loop) {
	if l == nil || !n.queued.CompareAndSwap(false, true) {
		return
	}
	if !l.postNode(&n.node) {
		n.queued.Store(false) // the loop has finished
	}
}

// takeNote hands a note the loop took to its port.
func (v *virtualPort) takeNote(m any) {
	switch x := m.(type) {
	case *Pipe:
		x.note.queued.Store(false)
	case *Listener:
		x.note.queued.Store(false)
	}
	v.noted(m)
}
