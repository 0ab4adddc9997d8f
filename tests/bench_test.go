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

// BenchmarkFanout: one publisher, 100 subscribers, 64-byte lines, in one
// process, on 1 and 2 loops; b.N lines are published and every subscriber
// reads them all. Run with -cpuprofile to see the interpreter's share.
func BenchmarkFanout(b *testing.B) {
	for _, v := range []variant{{"epoll", 1}, {"io_uring", 1}, {"epoll", 2}, {"io_uring", 2}} {
		engine := v.engine
		b.Run(v.String(), func(b *testing.B) {
			if err := router.EngineUnavailable(engine); err != nil {
				b.Skipf("%s: %v", engine, err)
			}
			const subs = 100
			r, err := router.LoadBytes("bench.yaml", []byte(`
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: 64MiB}
routes:
  - {pattern: fanout, from: pub, to: subs}
`), router.Options{Loops: v.loops, Engine: engine, Logger: slog.New(slog.DiscardHandler)})
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

// BenchmarkBridge: one TCP stream through a raw bridge to a discarding
// sink, in one process; b.N chunks of 256 KiB. "direct" is the same client
// and sink with no router between them: the ceiling to compare against.
func BenchmarkBridge(b *testing.B) {
	for _, engine := range append([]string{"direct"}, engines...) {
		b.Run(engine, func(b *testing.B) {
			if err := router.EngineUnavailable(engine); engine != "direct" && err != nil {
				b.Skipf("%s: %v", engine, err)
			}
			sink, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer sink.Close()
			const chunk = 256 << 10
			done := make(chan int64, 1)
			go func() {
				c, err := sink.Accept()
				if err != nil {
					return
				}
				var n int64
				buf := make([]byte, chunk)
				for {
					m, err := c.Read(buf)
					n += int64(m)
					if err != nil {
						break
					}
				}
				done <- n
			}()
			target := sink.Addr().String()
			var r *router.Router
			if engine != "direct" {
				r, err = router.LoadBytes("bench.yaml", []byte(fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0"}
  back:  {kind: tcp, connect: "%s"}
routes:
  - {pattern: bridge, from: front, to: back}
`, target)), router.Options{Loops: 1, Engine: engine, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					b.Fatal(err)
				}
				if err := r.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				defer r.Stop()
				target = r.Addr("front")
			}
			c, err := net.Dial("tcp", target)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, chunk)
			b.SetBytes(chunk)
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			c.(*net.TCPConn).CloseWrite()
			if n := <-done; n != int64(b.N)*chunk {
				b.Fatalf("sink got %d of %d bytes", n, int64(b.N)*chunk)
			}
			b.StopTimer()
			c.Close()
			if r != nil {
				b.ReportMetric(float64(r.Stats().Ops["splice"])/float64(b.N), "splices/op")
			}
		})
	}
}
