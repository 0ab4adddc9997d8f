package tests

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// TestTLSConnectReconnects runs a tls connect endpoint (a merge sink, held
// by pxroute) to a Go TLS server that goes away and comes back on the same
// address: pxroute reconnects, handshakes again, and delivers what was
// queued meanwhile, in order, byte-exact, with nothing dropped. A server
// that says goodbye (close_notify) costs no failure; one whose connection
// is cut is counted as truncated.
func TestTLSConnectReconnects(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	cases := []struct {
		name   string
		cut    bool // the server's connection ends without close_notify
		failed map[string]uint64
	}{
		{"server-closes-in-order", false, failed()},
		{"server-connection-cut", true, failed("truncated", 1)},
	}
	for _, v := range variants() {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/%s", v, c.name), func(t *testing.T) {
				srv := newRestartableTLSServer(t, goTLSConfig(t, tlsOptions{cert: cert, key: key}, true))
				r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  back:  {kind: tcp, connect: %q, framing: lines, reconnect_initial: 20ms, reconnect_max: 100ms, tls: {ca: %q, server_name: localhost}}
routes:
  - {pattern: merge, from: front, to: back}
`, srv.addr, pki.caPath))
				client := dial(t, r.Addr("front"))
				line := func(i int) string { return fmt.Sprintf("line %d \x00\xff\x80 %s", i, "é") }
				send := func(from, to int) {
					var b []byte
					for i := from; i < to; i++ {
						b = append(b, line(i)+"\n"...)
					}
					if _, err := client.Write(b); err != nil {
						t.Fatal(err)
					}
				}
				expect := func(from, to int) {
					t.Helper()
					for i := from; i < to; i++ {
						select {
						case got := <-srv.lines:
							if got != line(i) {
								t.Fatalf("the server got %q, want %q", got, line(i))
							}
						case <-time.After(ioTimeout):
							t.Fatalf("the server got lines %d..%d, not %d", from, i-1, i)
						}
					}
				}
				send(0, 100)
				expect(0, 100)
				srv.stop(c.cut)
				waitFor(t, "back to lose its connection", func() bool { return endpoint(r.Stats(), "back").Active == 0 })
				send(100, 200)
				waitFor(t, "100 lines queued for back", func() bool { return endpoint(r.Stats(), "back").Queued == 100 })
				srv.start(t)
				expect(100, 200)
				waitFor(t, "back to show them delivered", func() bool { return endpoint(r.Stats(), "back").MsgsOut == 200 })
				f := tlsFiguresOf(r.Stats(), "back")
				// Errors also counts the dials refused while the server was
				// away, as many as the backoff made: not checked exactly.
				if f.Secured != 2 || !mapsEqual(f.Failed, c.failed) || f.Errors < uint64(len(c.failed)) {
					t.Fatalf("back: %v; want 2 handshakes and failures %v", f, c.failed)
				}
				if e := endpoint(r.Stats(), "back"); e.Offered != 200 || dropsOf(e.Drops) != 0 || e.Queued != 0 {
					t.Fatalf("back: offered %d, drops %v, queued %d; want 200 delivered", e.Offered, e.Drops, e.Queued)
				}
				checkAccounting(t, r, "front", "back")
			})
		}
	}
}

func mapsEqual(a, b map[string]uint64) bool {
	return tlsFigures{Failed: a}.equal(tlsFigures{Failed: b})
}

// restartableTLSServer is a Go TLS server on a fixed loopback address
// that can be stopped and started again there; every line it receives, on
// any connection, goes to lines.
type restartableTLSServer struct {
	addr  string
	cfg   *tls.Config
	lines chan string
	mu    sync.Mutex
	ln    net.Listener
	conns []*tls.Conn
}

func newRestartableTLSServer(t *testing.T, cfg *tls.Config) *restartableTLSServer {
	t.Helper()
	s := &restartableTLSServer{addr: "127.0.0.1:0", cfg: cfg, lines: make(chan string, 1024)}
	s.start(t)
	s.addr = s.ln.Addr().String()
	t.Cleanup(func() { s.stop(false) })
	return s
}

// start listens on s.addr (again).
func (s *restartableTLSServer) start(t *testing.T) {
	t.Helper()
	ln, err := tls.Listen("tcp", s.addr, s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			c := nc.(*tls.Conn)
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			go func() {
				c.SetDeadline(time.Now().Add(tlsPeerTimeout))
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					s.lines <- sc.Text()
				}
			}()
		}
	}()
}

// stop closes the listener and every connection: with a close_notify, or
// cut (the socket closed under it).
func (s *restartableTLSServer) stop(cut bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ln.Close()
	for _, c := range s.conns {
		if cut {
			c.NetConn().Close()
		} else {
			c.Close()
		}
	}
	s.conns = nil
}
