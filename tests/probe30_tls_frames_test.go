package tests

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// Probe 30: length-prefixed bridges with frames at and around the
// cut-through and max_frame edges, both ways through a bridge whose
// connect side is TLS behind a server slow to handshake (the plain side
// waits at its splice meanwhile), whose listen side is TLS, or both.
// Every frame must come back whole, in order, and the bridge's accounting
// must hold with nothing dropped or lost. The same streams go through
// raw bridges (splice where both sides may, copy where TLS is on the loop).

// probe30Frames is the frame sizes sent: around one read, around the
// cut-through threshold (256 KiB), and max_frame (4 MiB here) exactly.
var probe30Frames = []int{0, 1, 64<<10 - 1, 64<<10 + 1, 256<<10 - 1, 256 << 10, 256<<10 + 1, 1 << 20, 4<<20 - 1, 4 << 20, 3, 2 << 20}

// slowTLSEcho is a TLS echo server that waits delay before its handshake.
func slowTLSEcho(t *testing.T, cfg *tls.Config, delay time.Duration) string {
	return serveEach(t, listenLocal(t), func(c net.Conn) {
		time.Sleep(delay)
		tc := tls.Server(c, cfg)
		dc := deadlineConn{tc}
		io.Copy(dc, dc)
		tc.CloseWrite()
	})
}

func TestProbe30TLSBridgeLargeFrames(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	srvCfg := &tls.Config{Certificates: []tls.Certificate{pair}}
	client := &tls.Config{RootCAs: pki.pool, ServerName: "localhost"}
	listenTLS := fmt.Sprintf(", tls: {cert: %q, key: %q}", cert, key)
	connectTLS := fmt.Sprintf(", tls: {ca: %q, server_name: localhost}", pki.caPath)
	cases := []struct {
		name              string
		tlsFront, tlsBack bool
		framing           string
	}{
		{"plain-to-tls", false, true, "length-prefix"},
		{"tls-to-plain", true, false, "length-prefix"},
		{"tls-to-tls", true, true, "length-prefix"},
		{"raw-plain-to-tls", false, true, "raw"},
		{"raw-tls-to-plain", true, false, "raw"},
		{"raw-tls-to-tls", true, true, "raw"},
	}
	var msgs [][]byte
	var stream []byte
	for i, n := range probe30Frames {
		p := bytes.Repeat([]byte{byte('a' + i)}, n)
		for j := 0; j < n; j += 4093 {
			p[j] = byte(j >> 12) // position marks: a shifted piece shows
		}
		msgs = append(msgs, p)
		stream = append(stream, frame(p)...)
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					back := echoServer(t)
					ft, bt := "", ""
					if tc.tlsBack {
						back = slowTLSEcho(t, srvCfg, 200*time.Millisecond)
						bt = connectTLS
					}
					if tc.tlsFront {
						ft = listenTLS
					}
					r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: %s, max_frame: 4MiB%s}
  back:  {kind: tcp, connect: %q, framing: %s, max_frame: 4MiB%s}
routes:
  - {pattern: bridge, from: front, to: back}
`, tc.framing, ft, back, tc.framing, bt))
					var c net.Conn
					var closeWrite func() error
					if tc.tlsFront {
						tc := dialTLS(t, r.Addr("front"), client)
						c, closeWrite = tc, tc.CloseWrite
					} else {
						pc := dial(t, r.Addr("front"))
						c, closeWrite = pc, pc.CloseWrite
					}
					c.SetDeadline(time.Time{})
					dc := deadlineConn{c}
					sent := make(chan error, 1)
					go func() {
						_, err := dc.Write(stream)
						if err == nil {
							err = closeWrite()
						}
						sent <- err
					}()
					rd := bufio.NewReader(dc)
					for i, want := range msgs {
						got := readFrame(t, rd)
						if !bytes.Equal(got, want) {
							t.Fatalf("frame %d: %d bytes back, want %d (equal %v)", i, len(got), len(want), bytes.Equal(got, want))
						}
					}
					if n, err := io.Copy(io.Discard, rd); n != 0 || err != nil {
						t.Fatalf("after the frames: %d more bytes, %v", n, err)
					}
					if err := <-sent; err != nil {
						t.Fatalf("sending: %v", err)
					}
					waitFor(t, "both sides closed", func() bool {
						s := r.Stats()
						return endpoint(s, "front").Active == 0 && endpoint(s, "back").Active == 0
					})
					if tc.framing == "raw" {
						checkAccounting(t, r, "front", "back")
						return // a read is a message: no count to expect
					}
					s := r.Stats()
					for _, name := range []string{"front", "back"} {
						e := endpoint(s, name)
						if e.MsgsOut != uint64(len(msgs)) || e.Offered != e.MsgsOut || len(nonZero(e.Drops)) > 0 || len(nonZero(e.Lost)) > 0 {
							t.Errorf("%s: offered %d, out %d (want %d), drops %v, lost %v", name, e.Offered, e.MsgsOut, len(msgs), nonZero(e.Drops), nonZero(e.Lost))
						}
					}
					checkAccounting(t, r, "front", "back")
				})
			}
		})
	}
}
