package tests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// BenchmarkFanout: one publisher, 20 subscribers, 64-byte lines, in one
// process; b.N lines are published and every subscriber reads them all.
// Run with -cpuprofile to see the interpreter's share.
func BenchmarkFanout(b *testing.B) {
	for _, engine := range engines {
		b.Run(engine, func(b *testing.B) {
			if err := router.EngineUnavailable(engine); err != nil {
				b.Skipf("%s: %v", engine, err)
			}
			const subs = 20
			r, err := router.LoadBytes("bench.yaml", []byte(`
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: 64MiB}
routes:
  - {pattern: fanout, from: pub, to: subs}
`), router.Options{Loops: 1, Engine: engine, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			if err := r.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer r.Stop()
			var wg sync.WaitGroup
			for range subs {
				c, err := net.Dial("tcp", r.Addr("subs"))
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := make([]byte, 256<<10)
					seen := 0
					for seen < b.N {
						n, err := c.Read(buf)
						seen += bytes.Count(buf[:n], []byte{'\n'})
						if err != nil {
							return
						}
					}
				}()
			}
			for r.Stats().Endpoints[1].Active < subs {
			}
			pub, err := net.Dial("tcp", r.Addr("pub"))
			if err != nil {
				b.Fatal(err)
			}
			defer pub.Close()
			payload := bytes.Repeat([]byte(fmt.Sprintf("%063d\n", 0)), b.N)
			b.SetBytes(64 * subs)
			b.ResetTimer()
			io.Copy(pub, bytes.NewReader(payload))
			wg.Wait()
			b.ReportMetric(float64(b.N*subs)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
