package tests

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// Issue 21: TLS connections through the machine's life cycle: closed
// mid-handshake by the client or by Stop (nothing leaks), max_conns,
// idle_timeout, a peer that stops reading, and close_notify both ways.

// settles waits until the goroutines and descriptors are back to at most
// goroutines and fds.
func settles(t *testing.T, what string, goroutines, fds int) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for {
		g, f := runtime.NumGoroutine(), openFDs(t)
		if g <= goroutines && f <= fds {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d goroutines (baseline %d), %d fds (baseline %d)", what, g, goroutines, f, fds)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const tlsEchoTopology = `
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: raw, %s tls: {cert: %q, key: %q, %s}}
  back:  {kind: tcp, connect: %q, framing: raw}
routes:
  - {pattern: bridge, from: front, to: back}
`

// TestTLSProbeDisconnectMidHandshake: clients that send half a hello and
// leave are each counted once; no goroutine or descriptor stays behind.
func TestTLSProbeDisconnectMidHandshake(t *testing.T) {
	const clients = 50
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	half := halfClientHello()
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(tlsEchoTopology, "", cert, key, "max_handshakes: 4", echoServer(t)))
			addr := r.Addr("front")
			runtime.GC()
			baseG, baseFD := runtime.NumGoroutine(), openFDs(t)
			for range clients {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				c.Write(half)
				c.Close()
			}
			waitFor(t, "every client counted", func() bool {
				_, failed, _ := tlsStats(r, "front")
				return failedTotal(failed) == clients
			})
			settles(t, "after the clients left", baseG, baseFD)
			_, failed, errs := tlsStats(r, "front")
			e := endpoint(r.Stats(), "front")
			if e.Active != 0 || e.Opened != clients || errs != clients {
				t.Errorf("Active %d Opened %d Errors %d, want 0, %d, %d", e.Active, e.Opened, errs, clients, clients)
			}
			t.Logf("SecureFailed %v", tlsNonzero(failed))
		})
	}
}

// tlsNonzero is m without its zero counts, for logs.
func tlsNonzero(m map[string]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// TestTLSProbeStopMidHandshake: Stop with handshakes running and queued
// (clients that never speak, handshake_timeout far away) returns at once
// and leaves no goroutine or descriptor of the router's behind.
func TestTLSProbeStopMidHandshake(t *testing.T) {
	const clients = 20
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			echo := echoServer(t)
			runtime.GC()
			baseG, baseFD := runtime.NumGoroutine(), openFDs(t)
			r := start(t, v, fmt.Sprintf(tlsEchoTopology, "", cert, key, "max_handshakes: 4, handshake_timeout: 1m", echo))
			var conns []net.Conn
			for range clients {
				c, err := net.Dial("tcp", r.Addr("front"))
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
			}
			waitFor(t, "every client accepted", func() bool { return endpoint(r.Stats(), "front").Opened == clients })
			begin := time.Now()
			if err := r.StopWithin(time.Second); err != nil {
				t.Fatalf("stop: %v", err)
			}
			took := time.Since(begin)
			for _, c := range conns {
				closedByPeer(t, c)
				c.Close()
			}
			settles(t, "after Stop", baseG, baseFD)
			t.Logf("Stop took %v with %d handshakes stalled", took.Round(time.Millisecond), clients)
			if took > 5*time.Second {
				t.Errorf("Stop took %v: it waited for the stalled handshakes", took)
			}
		})
	}
}

// TestTLSProbeMaxConnsAfterFailures: connections that fail their
// handshake give their max_conns place back.
func TestTLSProbeMaxConnsAfterFailures(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(tlsEchoTopology, "max_conns: 2,", cert, key, "", echoServer(t)))
			addr := r.Addr("front")
			for range 6 {
				closedByPeer(t, sendRaw([]byte("GET / HTTP/1.1\r\n\r\n"))(t, addr, pki))
			}
			waitFor(t, "the failures counted", func() bool {
				_, failed, _ := tlsStats(r, "front")
				return failedTotal(failed) == 6
			})
			a, b := dialGoodTLS(t, addr, pki, 0), dialGoodTLS(t, addr, pki, 0)
			a.roundTrip(t)
			b.roundTrip(t)
			for _, s := range r.Stats().Endpoints {
				if s.Name == "front" && len(tlsNonzero(s.Refused)) > 0 {
					t.Errorf("Refused %v after failed handshakes", tlsNonzero(s.Refused))
				}
			}
		})
	}
}

// readToEnd reads c until it ends and returns what came and how.
func readToEnd(c *tls.Conn) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	var got []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return got, err
		}
	}
}

// TestTLSProbeCloseNotify: pxroute ends a TLS connection with
// close_notify (a Go client sees io.EOF, not an unexpected EOF) when it
// idles out, when the router stops, and after a peer's own close_notify
// (the peer keeps its socket open): none of these is a TLS failure.
func TestTLSProbeCloseNotify(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	cases := []struct {
		name, keys string
		end        func(t *testing.T, r interface{ StopWithin(time.Duration) error }, g *goodTLS) []byte
	}{
		{"idle_timeout", "idle_timeout: 300ms,", func(t *testing.T, _ interface{ StopWithin(time.Duration) error }, g *goodTLS) []byte {
			return nil
		}},
		{"router stops", "", func(t *testing.T, r interface{ StopWithin(time.Duration) error }, g *goodTLS) []byte {
			if err := r.StopWithin(time.Second); err != nil {
				t.Errorf("stop: %v", err)
			}
			return nil
		}},
		{"peer's close_notify, socket open", "", func(t *testing.T, _ interface{ StopWithin(time.Duration) error }, g *goodTLS) []byte {
			last := []byte("the last line before close_notify\n")
			g.c.Write(last)
			if err := g.c.CloseWrite(); err != nil {
				t.Fatalf("CloseWrite: %v", err)
			}
			return last
		}},
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					r := start(t, v, fmt.Sprintf(tlsEchoTopology, tc.keys, cert, key, "", echoServer(t)))
					g := dialGoodTLS(t, r.Addr("front"), pki, 0)
					g.roundTrip(t)
					want := tc.end(t, r, g)
					got, err := readToEnd(g.c)
					if !errors.Is(err, io.EOF) || !bytes.Equal(got, want) {
						t.Errorf("the client read %q and %v, want %q and io.EOF (close_notify)", got, err, want)
					}
					secured, failed, errs := tlsStats(r, "front")
					if secured != 1 || failedTotal(failed) != 0 || errs != 0 {
						t.Errorf("Secured %d, SecureFailed %v, Errors %d; want 1, none, 0", secured, tlsNonzero(failed), errs)
					}
				})
			}
		})
	}
}
