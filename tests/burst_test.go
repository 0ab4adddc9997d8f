package tests

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

// A burst of 1,000,000 messages to 100 subscribers, 10 of which never
// read: every fast subscriber gets the whole stream in order, and for the
// subscribers' endpoint delivered + dropped + queued is exactly
// 100 × 1,000,000.
func TestBurstAccountingReconciles(t *testing.T) {
	const msgs, fast, slow = 1_000_000, 90, 10
	var stream bytes.Buffer
	for n := range msgs {
		fmt.Fprintf(&stream, "%07d\n", n) // 8 bytes a message
	}
	want := stream.Bytes()
	for _, v := range variants() {
		if v.loops != 2 {
			continue // the loop-count cases run elsewhere; this one is about volume
		}
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, `
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: 64KiB}
routes:
  - {pattern: fanout, from: pub, to: subs}
`)
			for range slow {
				c := dial(t, r.Addr("subs"))
				c.SetReadBuffer(64 << 10) // never reads
			}
			var wg sync.WaitGroup
			errs := make(chan error, fast)
			for i := range fast {
				c := dial(t, r.Addr("subs"))
				c.SetDeadline(time.Now().Add(2 * time.Minute)) // 800 MB through the race detector
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := make([]byte, 256<<10)
					got := 0
					for got < len(want) {
						n, err := c.Read(buf[:min(len(buf), len(want)-got)])
						if !bytes.Equal(buf[:n], want[got:got+n]) {
							errs <- fmt.Errorf("subscriber %d: stream differs after %d bytes", i, got)
							return
						}
						got += n
						if err != nil {
							errs <- fmt.Errorf("subscriber %d: after %d of %d bytes: %v", i, got, len(want), err)
							return
						}
					}
				}()
			}
			waitFor(t, "subscribers", func() bool { return endpoint(r.Stats(), "subs").Active == fast+slow })
			pub := dial(t, r.Addr("pub"))
			pub.SetDeadline(time.Now().Add(2 * time.Minute))
			io.Copy(pub, bytes.NewReader(want))
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			waitFor(t, "the burst counted", func() bool {
				s := endpoint(r.Stats(), "subs")
				return endpoint(r.Stats(), "pub").MsgsIn == msgs && s.MsgsOut+s.Drops["hwm"]+uint64(s.Queued) == (fast+slow)*msgs
			})
			s := endpoint(r.Stats(), "subs")
			if s.Offered != (fast+slow)*msgs {
				t.Fatalf("offered %d messages to subscribers, want %d", s.Offered, (fast+slow)*msgs)
			}
			if s.Drops["hwm"] == 0 || s.MsgsOut < fast*msgs {
				t.Fatalf("want the slow ones' drops counted hwm and every fast delivery: %+v", s)
			}
			t.Logf("delivered %d, dropped %d (hwm), queued %d: sum %d = %d subscribers × %d",
				s.MsgsOut, s.Drops["hwm"], s.Queued, s.MsgsOut+s.Drops["hwm"]+uint64(s.Queued), fast+slow, msgs)
		})
	}
}
