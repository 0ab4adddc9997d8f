package tests

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Probe 30: a TLS connect endpoint that reconnects under traffic (its
// server ends every connection after 40 lines, half of them with
// close_notify, half with a bare reset) while a plain client streams
// numbered lines into a fanout to it. What the server reads must be in
// order with nothing twice; every line offered is delivered, dropped
// (counted) or still queued; no handshake fails.
func TestProbe30TLSConnectReconnectsUnderTraffic(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}}
	const lines = 3000
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			got := make(chan int, lines)
			var conns atomic.Int32
			back := serveEach(t, listenLocal(t), func(c net.Conn) {
				reset := conns.Add(1)%2 == 0
				tc := tls.Server(c, cfg)
				rd := bufio.NewReader(deadlineConn{tc})
				for range 40 {
					l, err := rd.ReadString('\n')
					if err != nil {
						return
					}
					n, err := strconv.Atoi(strings.TrimSuffix(l, "\n"))
					if err != nil {
						t.Errorf("a line not a number: %q", l)
						return
					}
					got <- n
				}
				if reset {
					c.(*net.TCPConn).SetLinger(0)
					return
				}
				tc.Close()
			})
			r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  back:  {kind: tcp, connect: %q, framing: lines, reconnect_initial: 10ms, reconnect_max: 20ms, tls: {ca: %q, server_name: localhost}}
routes:
  - {pattern: fanout, from: front, to: back}
`, back, pki.caPath))
			waitFor(t, "back connected", func() bool { return endpoint(r.Stats(), "back").Active == 1 })
			c := dial(t, r.Addr("front"))
			w := bufio.NewWriter(c)
			for i := range lines {
				fmt.Fprintf(w, "%d\n", i)
				if i%50 == 49 {
					w.Flush()
					time.Sleep(time.Millisecond)
				}
			}
			w.Flush()
			waitFor(t, "every line delivered, dropped or queued", func() bool {
				e := endpoint(r.Stats(), "back")
				return e.Offered == lines && e.MsgsOut+dropsOf(e.Drops) == lines
			})
			last, n := -1, 0
			for done := false; !done; {
				select {
				case k := <-got:
					if k <= last {
						t.Fatalf("line %d after %d: out of order or twice", k, last)
					}
					last, n = k, n+1
				case <-time.After(300 * time.Millisecond):
					done = true
				}
			}
			e := endpoint(r.Stats(), "back")
			t.Logf("%d lines read by the server of %d, %d delivered, drops %v, %d connections", n, lines, e.MsgsOut, nonZero(e.Drops), e.Opened)
			// Lines written into a connection the server then ends
			// unread are TCP's loss, not pxroute's: delivered counts
			// writes. Most of the stream goes into the last one.
			if e.Opened < 3 {
				t.Errorf("only %d connections: the server did not make it reconnect", e.Opened)
			}
			if uint64(n) > e.MsgsOut {
				t.Errorf("the server read %d lines, more than the %d delivered", n, e.MsgsOut)
			}
			if _, failed, _ := tlsFiguresOf(r.Stats(), "back").counts(); len(nonZero(failed)) > 0 {
				t.Errorf("handshakes failed: %v", nonZero(failed))
			}
			checkAccounting(t, r, "front", "back")
		})
	}
}
