package completion

import "sync/atomic"

// Inbox is a lock-free multi-producer, single-consumer queue: the "interlocked
// list" between loops. Producers push with one CAS; the owning loop takes the
// whole list with one swap and restores push order.
type Inbox struct {
	head  atomic.Pointer[inboxNode]
	depth atomic.Int64
}

type inboxNode struct {
	next *inboxNode
	val  any
}

// closedInbox heads an inbox whose loop has finished: nothing more is
// taken.
var closedInbox = &inboxNode{}

// Push adds v and reports true, or reports false if the inbox is closed;
// safe from any goroutine.
func (q *Inbox) Push(v any) bool { return q.pushNode(&inboxNode{val: v}) }

// pushNode is Push of a node the caller owns (a note): it must not be
// pushed again before the loop has taken it.
func (q *Inbox) pushNode(n *inboxNode) bool {
	for {
		old := q.head.Load()
		if old == closedInbox {
			return false
		}
		n.next = old
		if q.head.CompareAndSwap(old, n) {
			q.depth.Add(1)
			return true
		}
	}
}

// Close refuses every later Push and appends what was queued to dst in
// push order: each item is either taken by Drain or Close, or refused to
// its sender, never left unread. Owner only.
func (q *Inbox) Close(dst []any) []any {
	return q.take(dst, closedInbox)
}

// Empty reports whether nothing is queued.
func (q *Inbox) Empty() bool { return q.head.Load() == nil }

// Depth is the number of queued items, for Stats.
func (q *Inbox) Depth() int64 { return q.depth.Load() }

// Drain appends every queued item to dst in push order. Owner only.
func (q *Inbox) Drain(dst []any) []any { return q.take(dst, nil) }

func (q *Inbox) take(dst []any, leave *inboxNode) []any {
	n := q.head.Swap(leave)
	if n == nil || n == closedInbox {
		return dst
	}
	start := len(dst)
	count := int64(0)
	for ; n != nil; n = n.next {
		dst = append(dst, n.val)
		count++
	}
	q.depth.Add(-count)
	// The stack gave newest first; reverse to oldest first.
	for i, j := start, len(dst)-1; i < j; i, j = i+1, j-1 {
		dst[i], dst[j] = dst[j], dst[i]
	}
	return dst
}
