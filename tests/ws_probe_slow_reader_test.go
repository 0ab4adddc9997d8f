package tests

import (
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestWebSocketProbeSlowReader: a browser that stops reading, among the
// WebSocket subscribers of a fan-out, meets its high_water and the
// overflow policy: drops counted, queued bytes bounded by the mark,
// Offered = MsgsOut + drops + QueuedMsgs; the subscriber beside it gets
// every message, whole and in order.
func TestWebSocketProbeSlowReader(t *testing.T) {
	// 6 MB: past what the kernel buffers for the subscriber that never
	// reads (its receive buffer held at 4 KiB, pxroute's send buffer
	// growing to tcp_wmem's 4 MiB).
	const lines, mark = 60000, 64 << 10
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(`
endpoints:
  src:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: websocket, high_water: %d, overflow: drop-newest}
routes:
  - {pattern: fanout, from: src, to: subs}
`, mark))
			slow, rep := wsUpgrade(t, dialSmallWindow(t, r.Addr("subs")), "/") // never reads again
			if rep.status != 101 {
				t.Fatalf("slow subscriber: %d", rep.status)
			}
			fast := wsDial(t, r.Addr("subs"), "/")
			waitFor(t, "both subscribers", func() bool { return endpoint(r.Stats(), "subs").Active == 2 })
			line := func(i int) string {
				return fmt.Sprintf("line %06d %s", i, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789")
			}
			// The reading subscriber is never more than a chunk (under the
			// mark) behind: the source waits for it, so only the one that
			// never reads meets the mark.
			const chunk = 500
			var read atomic.Int64
			bad := make(chan string, 1)
			go func() {
				for i := range lines {
					f, err := fast.readErr()
					if err != nil || f.op != 1 || !f.fin || string(f.p) != line(i) {
						bad <- fmt.Sprintf("message %d: %v op %d %q", i, err, f.op, f.p)
						return
					}
					read.Store(int64(i + 1))
				}
				close(bad)
			}()
			peak := sampleQueued(r, "subs")
			src := dial(t, r.Addr("src"))
			for i := 0; i < lines; i += chunk {
				var b []byte
				for j := i; j < min(i+chunk, lines); j++ {
					b = append(append(b, line(j)...), '\n')
				}
				if _, err := src.Write(b); err != nil {
					t.Fatal(err)
				}
				end := int64(min(i+chunk, lines))
				waitProgress(t, "the reading subscriber", func() uint64 { return uint64(read.Load()) }, func() bool {
					select {
					case msg, ok := <-bad:
						if ok {
							t.Fatalf("the reading subscriber: %s", msg)
						}
						return true
					default:
					}
					return read.Load() >= end
				})
			}
			settledWithinTheMark(t, r, "subs", 2*lines, peak, mark)
			if n := errorsOf(r.Stats(), "subs"); n != 0 {
				t.Errorf("errors %d: the slow subscriber was failed, not held to its policy", n)
			}
			slow.c.Close()
		})
	}
}

// dialSmallWindow is dial with the receive buffer held at 4 KiB, so
// that what the client does not read backs up into pxroute soon.
func dialSmallWindow(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := &net.Dialer{Timeout: ioTimeout, Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return err
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(ioTimeout))
	t.Cleanup(func() { c.Close() })
	return c
}
