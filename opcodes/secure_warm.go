package opcodes

import "github.com/pxroute/pxroute/contract"

// Warm transports: a secured conn's Transport may build per-connection
// crypto state from its keys (TLS: two AEADs, ~2.6 KB) that an idle conn
// need not hold. Each loop keeps that state for at most warmTransports
// conns, those that most recently entered the ring by using their
// transport; entering evicts the oldest entry, which rests (contract.
// Rester) and builds its state again on its next use. So 10,000 idle
// TLS conns hold a loop's ring's worth of AEADs, not 10,000 pairs, while
// a conn in steady use stays warm as long as fewer than warmTransports
// others are used in between (past that, each use of a transport costs
// a key expansion and an allocation: a loop busy with more TLS conns
// than that trades that CPU for the memory).
const warmTransports = 512

// warmRing is a loop's transports holding their built state, oldest at
// next once the ring is full.
type warmRing struct {
	slots []*secureSession
	next  int
}

// use notes that s is about to use its transport: it enters the ring if
// it is not in it, evicting and resting the oldest entry.
func (s *secureSession) use() {
	if !s.rests || s.warm {
		return
	}
	r := s.ring
	if len(r.slots) < warmTransports {
		r.slots = append(r.slots, s)
	} else {
		if old := r.slots[r.next]; old != nil {
			old.warm = false
			old.t.(contract.Rester).Rest()
		}
		r.slots[r.next] = s
		r.next = (r.next + 1) % warmTransports
	}
	s.warm = true
}

// leave takes s out of the ring, its conn gone: the ring must not keep
// a closed conn's session (and its buffers) alive.
func (s *secureSession) leave() {
	if !s.warm {
		return
	}
	r := s.ring
	for i, o := range r.slots {
		if o == s {
			r.slots[i] = nil
			break
		}
	}
	s.warm = false
}

// dropSession lets go of c's session, taking a secured one out of its
// loop's warm ring.
func (c *conn) dropSession() {
	if c.sess != nil {
		switch s := c.sess.s.(type) {
		case *secureSession:
			s.leave()
		case *secureTicker:
			s.leave()
		}
	}
	c.sess = nil
	if c.bulk != nil {
		c.bulk.ktls = nil // a reconnect's next connection is secured anew
	}
}
