package tests

import (
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// Probe 30: the plain side of a bridge now waits at its splice for its TLS
// connect peer's handshake. Hostile TLS servers behind a plain listener:
// slow to handshake (the client sends a lot and half-closes meanwhile),
// stalled, reset mid-handshake, closing right after the handshake. Each
// must end the client's connection or serve it, byte-exact, within a
// bounded time, with the front's connections all closed after and no fd
// left open.

// probeTLSServer is what a hostile TLS server does with each connection.
type probeTLSServer func(c net.Conn, cfg *tls.Config)

func TestProbe30PlainWaitsForTLSPeer(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}}
	const size = 8 << 20
	cases := []struct {
		name   string
		server probeTLSServer
		served bool // the client's bytes come back, byte-exact
		close  bool // the client closes at once after its writes
	}{
		{"slow-handshake", func(c net.Conn, cfg *tls.Config) {
			time.Sleep(300 * time.Millisecond)
			tc := tls.Server(c, cfg)
			dc := deadlineConn{tc}
			io.Copy(dc, dc)
			tc.CloseWrite()
		}, true, false},
		{"stalled", func(c net.Conn, cfg *tls.Config) {
			io.Copy(io.Discard, c) // never answers; pxroute's handshake_timeout ends it
		}, false, false},
		{"stalled-client-closes", func(c net.Conn, cfg *tls.Config) {
			io.Copy(io.Discard, c)
		}, false, true},
		{"reset-mid-handshake", func(c net.Conn, cfg *tls.Config) {
			c.Read(make([]byte, 1))
			c.(*net.TCPConn).SetLinger(0)
		}, false, false},
		{"close-after-handshake", func(c net.Conn, cfg *tls.Config) {
			tc := tls.Server(c, cfg)
			tc.Handshake()
			tc.Close()
		}, false, false},
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					back := serveEach(t, listenLocal(t), func(c net.Conn) { tc.server(c, cfg) })
					fds, goroutines := openFDs(t), runtime.NumGoroutine()
					r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0"}
  back:  {kind: tcp, connect: %q, tls: {ca: %q, server_name: localhost, handshake_timeout: 500ms}}
routes:
  - {pattern: bridge, from: front, to: back}
`, back, pki.caPath))
					began := time.Now()
					c := dial(t, r.Addr("front"))
					c.SetDeadline(time.Time{})
					dc := deadlineConn{c}
					sent := make(chan error, 1)
					var sum []byte
					go func() {
						s, err := writeBulk(dc, size)
						sum = s
						if err == nil {
							err = c.CloseWrite()
						}
						if tc.close {
							c.Close()
						}
						sent <- err
					}()
					if tc.close {
						<-sent
						waitFor(t, "front's connection closed after its client closed", func() bool {
							return endpoint(r.Stats(), "front").Active == 0
						})
						t.Logf("front closed %v after the client's dial", time.Since(began).Round(time.Millisecond))
						return
					}
					h := sha256.New()
					n, rerr := io.Copy(h, dc)
					if tc.served {
						if err := <-sent; err != nil {
							t.Fatalf("sending: %v", err)
						}
						if rerr != nil || n != size || string(h.Sum(nil)) != string(sum) {
							t.Fatalf("came back %d bytes (%v), want %d byte-exact", n, rerr, size)
						}
					} else {
						var ne net.Error
						if errors.As(rerr, &ne) && ne.Timeout() {
							t.Fatalf("the client's connection stalled: %d bytes then %v", n, rerr)
						}
						if n != 0 {
							t.Errorf("%d bytes came back from a server that sent none", n)
						}
					}
					waitFor(t, "front and back closed", func() bool {
						s := r.Stats()
						return endpoint(s, "front").Active == 0 && endpoint(s, "back").Active == 0
					})
					t.Logf("ended %v after the dial", time.Since(began).Round(time.Millisecond))
					c.Close()
					if err := r.StopWithin(2 * time.Second); err != nil {
						t.Fatalf("stop: %v", err)
					}
					if got := openFDs(t); got > fds+2 {
						t.Errorf("%d fds open after stop, %d before start", got, fds)
					}
					// The TLS pool's goroutines linger 250 ms; the test
					// server's handler ends with its connection.
					waitFor(t, "goroutines back to where they were", func() bool {
						return runtime.NumGoroutine() <= goroutines+1
					})
				})
			}
		})
	}
}
