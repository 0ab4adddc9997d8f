package tests

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Bytes right after the handshake: a peer's first message may arrive in
// the same read as its last handshake record (the handshake reads past
// its end), and a peer may then send nothing more while it waits for an
// answer. pxroute must take those bytes as input at once, not wait for
// another read that never comes.

// flightConn holds every write after the first until release, then sends
// them in one write: a TLS peer's last handshake flight and its first
// application data leave together, as one segment.
type flightConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
	held   []byte
}

func (c *flightConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	if c.writes == 1 {
		return c.Conn.Write(b)
	}
	c.held = append(c.held, b...)
	return len(b), nil
}

// release sends what was held, in one write; writes pass from then on.
func (c *flightConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.Conn.Write(c.held)
	c.held, c.writes = nil, -1<<30
	return err
}

func TestTLSBytesRightAfterTheHandshake(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	echoTopo := fmt.Sprintf(`
endpoints:
  e: {kind: tcp, listen: "127.0.0.1:0", framing: lines, tls: {cert: %q, key: %q}}
routes:
  - {pattern: echo, members: e}
`, cert, key)
	client := func(version uint16) *tls.Config {
		return &tls.Config{RootCAs: pki.pool, ServerName: "localhost", MinVersion: version, MaxVersion: version}
	}
	cases := []struct {
		name string
		run  func(t *testing.T, v variant)
	}{
		{"tls1.3-client's-first-line-in-the-segment-of-its-Finished-is-echoed", func(t *testing.T, v variant) {
			r := start(t, v, echoTopo)
			raw := dial(t, r.Addr("e"))
			fc := &flightConn{Conn: raw}
			tc := tls.Client(fc, client(tls.VersionTLS13))
			if err := tc.Handshake(); err != nil { // 1.3: the client's Finished is held
				t.Fatal(err)
			}
			io.WriteString(tc, "first line\n")
			if err := fc.release(); err != nil {
				t.Fatal(err)
			}
			if got := readLines(t, bufio.NewReader(tc), 1)[0]; got != "first line" {
				t.Fatalf("echoed %q", got)
			}
		}},
		{"one-line-then-silence-gets-its-reply/tls1.2", func(t *testing.T, v variant) {
			r := start(t, v, echoTopo)
			tc := dialTLS(t, r.Addr("e"), client(tls.VersionTLS12))
			io.WriteString(tc, "only line\n")
			if got := readLines(t, bufio.NewReader(tc), 1)[0]; got != "only line" {
				t.Fatalf("echoed %q", got)
			}
		}},
		{"one-line-then-silence-gets-its-reply/tls1.3", func(t *testing.T, v variant) {
			r := start(t, v, echoTopo)
			tc := dialTLS(t, r.Addr("e"), client(tls.VersionTLS13))
			io.WriteString(tc, "only line\n")
			if got := readLines(t, bufio.NewReader(tc), 1)[0]; got != "only line" {
				t.Fatalf("echoed %q", got)
			}
		}},
		{"tls1.2-server's-greeting-in-the-segment-of-its-Finished-reaches-the-client", func(t *testing.T, v variant) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			go func() {
				raw, err := ln.Accept()
				if err != nil {
					return
				}
				defer raw.Close()
				raw.SetDeadline(time.Now().Add(ioTimeout))
				fc := &flightConn{Conn: raw}
				tc := tls.Server(fc, &tls.Config{Certificates: []tls.Certificate{pair}, MaxVersion: tls.VersionTLS12})
				if tc.Handshake() != nil { // 1.2: the server's Finished is held
					return
				}
				io.WriteString(tc, "greeting\n")
				fc.release()
				io.Copy(io.Discard, tc) // until pxroute closes
			}()
			r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  back:  {kind: tcp, connect: %q, framing: lines, tls: {ca: %q, server_name: localhost}}
routes:
  - {pattern: bridge, from: front, to: back}
`, ln.Addr(), pki.caPath))
			c := dial(t, r.Addr("front")) // sends nothing
			if got := readLines(t, bufio.NewReader(c), 1)[0]; got != "greeting" {
				t.Fatalf("got %q", got)
			}
		}},
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, v) })
			}
		})
	}
}
