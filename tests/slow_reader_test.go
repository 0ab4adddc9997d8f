package tests

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// What the slow-reader probes (TLS, WebSocket) share: a fan-out
// destination endpoint with one subscriber that never reads and one that
// does; the source is paced on the reader, so only the other meets the
// mark.

// sampleQueued samples endpoint name's queued bytes every millisecond
// until the returned func is called, which gives their peak.
func sampleQueued(r *router.Router, name string) (peak func() int64) {
	var max atomic.Int64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			for _, e := range r.Stats().Endpoints {
				if e.Name == name && e.QueuedB > max.Load() {
					max.Store(e.QueuedB)
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-sampled
		return max.Load()
	}
}

// settledWithinTheMark waits until every one of the offered messages to
// endpoint name is delivered, dropped or still queued, then checks that
// the subscriber that never reads cost drops and that its queued bytes
// peaked within the mark, plus a batch the socket had not taken (a
// sealed one: 64 KiB) and a line.
func settledWithinTheMark(t *testing.T, r *router.Router, name string, offered uint64, peak func() int64, mark int) {
	t.Helper()
	var e struct {
		Offered, MsgsOut, drops uint64
		queued                  int64
	}
	waitFor(t, "every line offered and settled", func() bool {
		x := endpoint(r.Stats(), name)
		e.Offered, e.MsgsOut, e.queued, e.drops = x.Offered, x.MsgsOut, x.Queued, 0
		for _, n := range x.Drops {
			e.drops += n
		}
		return e.Offered == offered && e.Offered == e.MsgsOut+e.drops+uint64(e.queued)
	})
	p := peak()
	t.Logf("Offered %d = MsgsOut %d + drops %d + QueuedMsgs %d; queued bytes peaked at %d (mark %d)", e.Offered, e.MsgsOut, e.drops, e.queued, p, mark)
	if e.drops == 0 {
		t.Error("the subscriber that never reads cost no drop")
	}
	if limit := int64(2*mark + 128); p > limit {
		t.Errorf("queued bytes peaked at %d, over %d", p, limit)
	}
}
