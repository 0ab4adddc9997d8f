package opcodes

import (
	"sync/atomic"
	"testing"
)

// A Stats read racing a loop's publish must see one turn's figures, whole:
// an endpoint's Offered = MsgsOut + drops + QueuedMsgs holds at the end of
// every turn, and a read that mixed two turns broke it ("offered 10,
// delivered 10, queued 10": MsgsOut from one turn, QueuedMsgs from the
// one before).
func TestPublishedFiguresAreReadWhole(t *testing.T) {
	var p epPublished
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		var c epCounters
		for n := uint64(1); !stop.Load(); n++ {
			c.Offered = n
			c.MsgsOut = n / 2
			c.Drops[DropHWM] = n / 4
			c.QueuedMsgs = int64(n - n/2 - n/4)
			p.store(&c)
		}
	}()
	torn := 0
	for range 200000 {
		c := p.load()
		if c.Offered != c.MsgsOut+c.Drops[DropHWM]+uint64(c.QueuedMsgs) {
			torn++
		}
	}
	stop.Store(true)
	<-done
	if torn > 0 {
		t.Fatalf("%d of 200000 reads mixed two stores", torn)
	}
}
