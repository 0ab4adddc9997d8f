package opcodes

import (
	"sync/atomic"
	"testing"
)

// A Stats read racing a loop's publish must see one turn's figures, whole:
// an endpoint's Offered = MsgsOut + drops + QueuedMsgs holds at the end of
// every turn, and a read that mixed two turns broke it ("offered 10,
// delivered 10, queued 10": MsgsOut from one turn, QueuedMsgs from the
// one before), as it broke a route's Offered against its endpoints'.
func TestPublishedFiguresAreReadWhole(t *testing.T) {
	m := &Machine{
		pub:          &machinePub{eps: make([]epPublished, 1), active: make([]atomic.Int64, 1), edges: make([]edgePublished, 1)},
		counters:     make([]epCounters, 1),
		lastCounters: make([]epCounters, 1),
		active:       make([]int64, 1),
		lastActive:   make([]int64, 1),
		edgeFigs:     make([]edgeCounters, 1),
		lastEdgeFigs: make([]edgeCounters, 1),
	}
	// Its mail goes nowhere (as to a Machine that has left): the loop
	// below takes the mail a put-off publish posts at once.
	m.loop = &mailbox{m: m}
	m.exited.Store(true)
	var stop atomic.Bool
	done := make(chan struct{})
	go func() { // the loop: a turn's counters, then publish
		defer close(done)
		for n := uint64(1); !stop.Load(); n++ {
			c := &m.counters[0]
			c.Offered, c.MsgsOut, c.Drops[DropHWM] = n, n/2, n/4
			c.QueuedMsgs = int64(n - n/2 - n/4)
			m.edgeFigs[0].Offered = n
			m.publish()
			m.pubAgain = false
		}
	}()
	eps, edges := make([]epCounters, 1), make([]edgeCounters, 1)
	torn := 0
	for range 200000 {
		m.pub.figures(eps, edges)
		c := eps[0]
		if c.Offered != c.MsgsOut+c.Drops[DropHWM]+uint64(c.QueuedMsgs) || edges[0].Offered != c.Offered {
			torn++
		}
	}
	stop.Store(true)
	<-done
	if torn > 0 {
		t.Fatalf("%d of 200000 reads mixed two publishes", torn)
	}
}
