package tests

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// Read under load, one Stats is one moment: its routes' Offered sum to its
// endpoints' Offered (RouteStats.Offered's doc), and a route's drops never
// exceed what it offered. Route figures were read apart from the
// endpoints', and each edge's fields one by one, so a read racing the
// loops' publishes mixed figures of different turns.
func TestStatsRoutesAndEndpointsAreOfOneMoment(t *testing.T) {
	const yaml = `
endpoints:
  pub:   {kind: inproc}
  subs:  {kind: inproc, queue: 4KiB, high_water: 4KiB}
  audit: {kind: inproc}
routes:
  - {pattern: fanout, from: pub, to: subs, tap: audit, overflow: drop-newest, name: feed}
`
	const reads = 3000
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, yaml)
			ctx, cancel := context.WithCancel(ioCtx(t))
			defer cancel()
			var wg sync.WaitGroup
			drain := func(c *router.InprocConn) {
				defer wg.Done()
				for {
					if _, err := c.Recv(ctx); err != nil {
						return
					}
				}
			}
			for _, n := range []string{"subs", "subs", "audit"} {
				wg.Add(1)
				go drain(attach(t, r, n))
			}
			waitFor(t, "subscribers", func() bool {
				s := r.Stats()
				return s.Endpoint("subs").Active == 2 && s.Endpoint("audit").Active == 1
			})
			pub := attach(t, r, "pub")
			wg.Add(1)
			go func() {
				defer wg.Done()
				msg := make([]byte, 200)
				for ctx.Err() == nil {
					if pub.Send(ctx, msg) != nil {
						return
					}
				}
			}()
			torn := 0
			var first string
			for range reads {
				s := r.Stats()
				var ep uint64
				for _, e := range s.Endpoints {
					ep += e.Offered
				}
				rt := s.Route("feed")
				if rt.Offered != ep || dropsOf(rt.Drops) > rt.Offered {
					if torn == 0 {
						first = fmt.Sprintf("route offered %d, endpoints offered %d, route drops %d", rt.Offered, ep, dropsOf(rt.Drops))
					}
					torn++
				}
			}
			cancel()
			wg.Wait()
			if torn > 0 {
				t.Errorf("%d of %d reads: route and endpoint figures of different moments (first: %s)", torn, reads, first)
			}
		})
	}
}
