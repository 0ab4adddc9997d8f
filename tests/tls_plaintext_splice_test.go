package tests

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Issue 21: a plain client bridged to a TLS connect endpoint sends at
// once, while pxroute's handshake with the server is still running. Its
// bytes must wait for the handshake and go out sealed: never in the clear
// on the TLS connection (the raw bridge's splice moved them straight into
// the TLS socket, and the server saw plaintext where a record was due).

// wireTap is a TCP listener whose accepted conns record every byte they
// read off the wire, for a TLS server run over them.
type wireTap struct {
	net.Listener
	mu   sync.Mutex
	wire bytes.Buffer
}

type tappedConn struct {
	net.Conn
	tap *wireTap
}

func (c tappedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.tap.mu.Lock()
	c.tap.wire.Write(b[:n])
	c.tap.mu.Unlock()
	return n, err
}

func (l *wireTap) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return tappedConn{c, l}, nil
}

func (l *wireTap) seen() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.wire.Bytes())
}

func TestTLSConnectNeverCarriesPlaintext(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("a secret the wire must never show in the clear\n")
	cases := []struct {
		name, framing string
		send          []byte // what the client sends as soon as it connects
	}{
		{"raw-bridge", "raw", bytes.Repeat(secret, 100)},
		// 1 MiB in one frame: large enough to be cut through.
		{"length-prefix-bridge-one-large-frame", "length-prefix", frame(bytes.Repeat(secret, (1<<20)/len(secret)))},
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					ln, err := net.Listen("tcp", "127.0.0.1:0")
					if err != nil {
						t.Fatal(err)
					}
					tap := &wireTap{Listener: ln}
					srv := tls.NewListener(tap, &tls.Config{Certificates: []tls.Certificate{pair}})
					t.Cleanup(func() { srv.Close() })
					go func() {
						c, err := srv.Accept()
						if err != nil {
							return
						}
						defer c.Close()
						c.SetDeadline(time.Now().Add(ioTimeout))
						io.Copy(c, c)
						c.(*tls.Conn).CloseWrite()
					}()
					r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: %s, max_frame: 4MiB}
  back:  {kind: tcp, connect: %q, framing: %s, max_frame: 4MiB, tls: {ca: %q, server_name: localhost}}
routes:
  - {pattern: bridge, from: front, to: back}
`, tc.framing, ln.Addr(), tc.framing, pki.caPath))
					logFiguresOnFailure(t, r)
					c := dial(t, r.Addr("front"))
					go func() {
						c.Write(tc.send)
						c.CloseWrite()
					}()
					got, err := io.ReadAll(c)
					if bytes.Contains(tap.seen(), secret[:20]) {
						t.Errorf("the TLS server read the client's bytes in the clear (%d wire bytes)", len(tap.seen()))
					}
					if err != nil || !bytes.Equal(got, tc.send) {
						t.Fatalf("echoed %d bytes of %d (%v)", len(got), len(tc.send), err)
					}
					if _, failed, _ := tlsFiguresOf(r.Stats(), "back").counts(); len(nonZero(failed)) > 0 {
						t.Errorf("back: TLS failures %v", nonZero(failed))
					}
				})
			}
		})
	}
}
