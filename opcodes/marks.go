package opcodes

// marks are a destination queue's high-water marks as an edge resolves
// them (Edge.limits): bytes, and messages (0: no limit in messages). The
// same type holds a blocked sender's low-water marks (conn.resume).
type marks struct{ bytes, msgs int }

// admits reports whether k more messages, size bytes in all, fit in d's
// queue under mk. Every mark check is this one function: whether a
// message is refused (deliver), a run is queued whole (queueRun), a
// balanced member has room (pick), a sender blocks after queueing
// (admits(d, 0, 1): no room for even an empty message), and a queue has
// drained to its low-water marks (admits(d, 0, 0)).
//
// An empty queue takes one message of any size: a message over the mark
// must still pass, alone.
func (mk marks) admits(d *conn, size, k int) bool {
	q := d.queued()
	if q == 0 && k == 1 {
		return true
	}
	return q+size <= mk.bytes && (mk.msgs == 0 || d.out.msgs()+k <= mk.msgs)
}
