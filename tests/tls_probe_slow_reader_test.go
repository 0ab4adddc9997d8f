package tests

import (
	"crypto/tls"
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestTLSProbeSlowReader: a TLS subscriber that stops reading meets its
// high_water and the route's overflow policy like a plain one: drops
// counted, what is queued (sealed batch included) bounded by the mark,
// Offered = MsgsOut + drops + QueuedMsgs, and a TLS subscriber beside it
// gets every line byte-exact.
func TestTLSProbeSlowReader(t *testing.T) {
	// 6 MB: past what the kernel buffers for the subscriber that never
	// reads (its receive buffer held at 4 KiB, pxroute's send buffer
	// growing to tcp_wmem's 4 MiB).
	const lines, mark = 60000, 64 << 10
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(`
endpoints:
  src: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: %d, overflow: drop-newest, tls: {cert: %q, key: %q}}
routes:
  - {pattern: fanout, from: src, to: out}
`, mark, cert, key))
			slow := dialSmallWindowTLS(t, r.Addr("out"), pki) // never reads
			fast := dialGoodTLS(t, r.Addr("out"), pki, 0)
			waitFor(t, "both subscribers secured", func() bool {
				secured, _, _ := tlsStats(r, "out")
				return secured == 2 && endpoint(r.Stats(), "out").Active == 2
			})
			var want []byte
			for i := range lines {
				want = fmt.Appendf(want, "line %06d %s\n", i, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789")
			}
			// The reading subscriber is never more than a chunk (under
			// the mark) behind: the source waits for it, so only the
			// one that never reads meets the mark, however slowly this
			// machine runs the reader.
			const chunk = 500 // lines, 51 KB
			var read atomic.Int64
			got := make(chan []byte, 1)
			go func() {
				b := make([]byte, len(want))
				fast.c.SetReadDeadline(time.Now().Add(4 * ioTimeout))
				n := 0
				for n < len(b) {
					k, err := fast.c.Read(b[n:])
					n += k
					read.Store(int64(n))
					if err != nil {
						break
					}
				}
				got <- b[:n]
			}()
			peak := sampleQueued(r, "out")
			src := dial(t, r.Addr("src"))
			lineLen := len(want) / lines
			for i := 0; i < lines; i += chunk {
				end := min(i+chunk, lines) * lineLen
				if _, err := src.Write(want[i*lineLen : end]); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the reading subscriber", func() bool { return read.Load() >= int64(end) })
			}
			if b := <-got; string(b) != string(want) {
				t.Fatalf("the reading subscriber got %d bytes of %d (or different ones)", len(b), len(want))
			}
			settledWithinTheMark(t, r, "out", 2*lines, peak, mark)
			slow.Close()
		})
	}
}

// dialSmallWindowTLS is a TLS client whose receive buffer is held at 4
// KiB, so that what it does not read backs up into pxroute soon.
func dialSmallWindowTLS(t *testing.T, addr string, pki *testPKI) *tls.Conn {
	t.Helper()
	d := &net.Dialer{Timeout: ioTimeout, Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return err
	}}
	c, err := tls.DialWithDialer(d, "tcp", addr, tlsClientConfig(pki, 0))
	if err != nil {
		t.Fatalf("slow client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
