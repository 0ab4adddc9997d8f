package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// BenchmarkBridgePingPong is the -latency bridge path in one process, for
// the Go scheduler's trace and profiles of the router under ping-pong:
// b.N round trips of 64 B through a bridge to a Go echo server.
//
//	go test ./bench -run '^$' -bench BridgePingPong -benchtime 20000x -trace /tmp/pp.trace
func BenchmarkBridgePingPong(b *testing.B) {
	for _, engine := range []string{"io_uring", "epoll"} {
		b.Run(engine, func(b *testing.B) {
			echo, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer echo.Close()
			go acceptLoop(echo, func(c net.Conn) { io.Copy(c, c) })
			front, err := freeAddrs(1)
			if err != nil {
				b.Fatal(err)
			}
			r, err := router.LoadBytes("pingpong.yaml", []byte(fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "%s"}
  back:  {kind: tcp, connect: "%s"}
routes:
  - {pattern: bridge, from: front, to: back}
`, front[0], echo.Addr())), router.Options{Loops: 2, Engine: engine, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			if err := r.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer r.Stop()
			if _, err := roundTripsN(front[0], 64, 500, false); err != nil { // warm up
				b.Fatal(err)
			}
			b.ResetTimer()
			lat, err := roundTripsN(front[0], 64, b.N, false)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(quantile(lat, 0.5), "p50-µs")
			b.ReportMetric(quantile(lat, 0.99), "p99-µs")
		})
	}
}
