package tests

import (
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Issue 16 defect 2: messages for members on another loop waited in its
// inbox without bound: a publisher read 3 M lines in 0.7 s while the loop
// of its one subscriber (drop-oldest, 256 KiB mark) fell behind, and RSS
// reached 300 MB. What is in transit between loops is bounded too: the
// reading loop stops reading once its mail to a loop is over the bound.
func TestMailBetweenLoopsIsBounded(t *testing.T) {
	for _, v := range variants() {
		if v.loops < 2 {
			continue
		}
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, `
endpoints:
  pub: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines, overflow: drop-oldest, high_water: 256KiB}
routes:
  - {pattern: fanout, from: pub, to: subs}
`)
			// The subscriber never reads; the publisher lands on the
			// other loop (listeners start on loops 0 and 1, and each
			// hands its first connection to its own loop).
			sub := dial(t, r.Addr("subs"))
			defer sub.Close()
			waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "subs").Active == 1 })
			pub := dial(t, r.Addr("pub"))
			// dial's deadline bounds the whole connection; 64 MiB under
			// the race detector on a loaded machine can take longer, and
			// the writer then stops as if the router had: the wait below
			// bounds the test by progress instead.
			pub.SetWriteDeadline(time.Time{})
			const lines = 1 << 19 // 32 MiB: 8 times the bound
			chunk := strings.Repeat(strings.Repeat("x", 63)+"\n", 1024)
			done := make(chan struct{})
			go func() {
				defer close(done)
				for range lines / 1024 {
					if _, err := io.WriteString(pub, chunk); err != nil {
						return
					}
				}
			}()
			var peakDepth, peakTransit int64
			var ms runtime.MemStats
			var peakHeap uint64
			for finished := false; !finished; {
				select {
				case <-done:
					finished = true
				case <-time.After(2 * time.Millisecond):
				}
				s := r.Stats()
				for _, l := range s.Loops {
					peakDepth = max(peakDepth, l.InboxDepth)
					peakTransit = max(peakTransit, l.InTransit)
				}
				runtime.ReadMemStats(&ms)
				peakHeap = max(peakHeap, ms.HeapInuse)
			}
			// The subscriber's loop works through what is in transit at
			// its own pace (slow under the race detector).
			offered := func() uint64 { return endpoint(r.Stats(), "subs").Offered }
			defer func() {
				if t.Failed() {
					s := r.Stats()
					t.Logf("pub read %d; loops %+v", endpoint(s, "pub").MsgsIn, s.Loops)
				}
			}()
			waitProgress(t, "every line offered to the subscriber", offered, func() bool {
				s := r.Stats()
				return endpoint(s, "pub").MsgsIn == lines && endpoint(s, "subs").Offered == lines && reconcile(s, "subs") == nil
			})
			t.Logf("peak inbox depth %d batches, %d bytes in transit, heap in use %d MiB", peakDepth, peakTransit, peakHeap>>20)
			// The bound per pair of loops, plus what one turn's reads add
			// past it (one 64 KiB read here).
			if limit := int64(transitBound + 1<<20); peakTransit > limit {
				t.Errorf("%d bytes in transit between loops, want at most %d", peakTransit, limit)
			}
		})
	}
}

// transitBound mirrors opcodes' bound on mail in transit from one loop to
// another.
const transitBound = 4 << 20
