package tests

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

func BenchmarkTmpInproc(b *testing.B) {
	for _, loops := range []int{1, 2} {
		b.Run(string(rune('0'+loops)), func(b *testing.B) {
			r, err := router.LoadBytes("b.yaml", []byte(`
endpoints:
  feed: {kind: inproc}
  subs: {kind: inproc, overflow: block, high_water: 1MiB}
routes:
  - {pattern: fanout, from: feed, to: subs}
`), router.Options{Loops: loops, Engine: "io_uring", Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			r.Start(context.Background())
			defer r.Stop()
			ctx := context.Background()
			var wg sync.WaitGroup
			const n = 100
			subs := make([]*router.InprocConn, n)
			for i := range subs {
				subs[i], _ = r.Inproc("subs").Attach()
			}
			for {
				time.Sleep(time.Millisecond)
				if r.Stats().Endpoints[1].Active == n {
					break
				}
			}
			pub, _ := r.Inproc("feed").Attach()
			msg := make([]byte, 64)
			b.ReportAllocs()
			b.ResetTimer()
			for _, s := range subs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range b.N {
						if _, err := s.Recv(ctx); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			for range b.N {
				pub.Send(ctx, msg)
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
