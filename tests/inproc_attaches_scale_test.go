package tests

import (
	"runtime"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// 10,000 attaches cost no goroutine and no descriptor each; closing them
// all brings Active back to 0 and counts them Closed.
func TestInprocTenThousandAttachesStayFlat(t *testing.T) {
	const attaches, batch = 10000, 1000
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, `
endpoints:
  feed: {kind: inproc, max_conns: 20000}
  out:  {kind: inproc}
routes:
  - {pattern: fanout, from: feed, to: out}
`)
			settle := func() (goroutines, fds int, heap uint64) {
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				return runtime.NumGoroutine(), openFDs(t), ms.HeapInuse
			}
			g0, fd0, h0 := settle()
			cs := make([]*router.InprocConn, 0, attaches)
			for len(cs) < attaches {
				// In batches, each accepted before the next: the backlog
				// holds 4,096 dials a loop has not taken.
				for range batch {
					c, err := r.Inproc("feed").Attach()
					if err != nil {
						t.Fatalf("attach %d: %v", len(cs), err)
					}
					cs = append(cs, c)
				}
				waitFor(t, "the batch accepted", func() bool { return endpoint(r.Stats(), "feed").Active == uint64(len(cs)) })
			}
			g1, fd1, h1 := settle()
			t.Logf("%d attaches: goroutines %d -> %d, descriptors %d -> %d, heap in use %+d bytes (%d per attach)",
				attaches, g0, g1, fd0, fd1, int64(h1)-int64(h0), (int64(h1)-int64(h0))/attaches)
			if g1-g0 > 10 {
				t.Errorf("goroutines %d -> %d with %d attaches: want no goroutine per attach", g0, g1, attaches)
			}
			if fd1-fd0 > 5 {
				t.Errorf("descriptors %d -> %d with %d attaches: want none per attach", fd0, fd1, attaches)
			}
			for _, c := range cs {
				c.Close()
			}
			waitFor(t, "every attach closed", func() bool {
				for _, e := range r.Stats().Endpoints {
					if e.Name == "feed" {
						return e.Active == 0 && e.Closed == attaches && e.Opened == attaches
					}
				}
				return false
			})
			if g2, _, _ := settle(); g2-g0 > 10 {
				t.Errorf("goroutines %d after closing every attach, %d before", g2, g0)
			}
		})
	}
}
