package tests

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// Issue 21: a hostile TLS peer. Each case runs against a pxroute TLS
// listener bridged to a plain echo server while a good TLS client stays
// connected beside it: the bad connection is closed, and only it (the
// good client's echo stays byte-exact), counted once by reason in
// SecureFailed and in Errors, and logged in exactly one line.

// tlsBadClient is one hostile act: it returns the connection pxroute
// must close.
type tlsBadClient func(t *testing.T, addr string, pki *testPKI) net.Conn

// halfClientHello is the first half of a TLS 1.2 record carrying a
// ClientHello: a handshake that stalls for want of the rest.
func halfClientHello() []byte {
	h := sslv3ClientHello()
	h[2] = 3
	return h[:len(h)/2]
}

// sslv3ClientHello is a ClientHello offering only SSL 3.0 (no
// supported_versions extension), in an SSL 3.0 record.
func sslv3ClientHello() []byte {
	body := []byte{3, 0}                                // client_version
	body = append(body, bytes.Repeat([]byte{7}, 32)...) // random
	body = append(body, 0)                              // session id
	body = append(body, 0, 2, 0x00, 0x2f)               // TLS_RSA_WITH_AES_128_CBC_SHA
	body = append(body, 1, 0)                           // null compression
	hs := append([]byte{1, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	return append([]byte{22, 3, 0, byte(len(hs) >> 8), byte(len(hs))}, hs...)
}

// sslv2Hello is an SSL 2.0 CLIENT-HELLO (a two-byte header, high bit set).
var sslv2Hello = []byte{0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10,
	0x07, 0x00, 0xc0, 0x05, 0x00, 0x80, 0x03, 0x00, 0x80, 0x01, 0x00, 0x80, 0x06, 0x00, 0x40, 0x04, 0x00, 0x80, 0x02, 0x00, 0x80,
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

// sendRaw is a client that writes b on a plain TCP connection.
func sendRaw(b []byte) tlsBadClient {
	return func(t *testing.T, addr string, _ *testPKI) net.Conn {
		c := dial(t, addr)
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		return c
	}
}

// afterHandshake is a client that finishes a TLS 1.2 handshake and then
// writes what records makes of its keys; halfClose ends its write side.
func afterHandshake(records func(r *rawTLS12) []byte, halfClose bool) tlsBadClient {
	return func(t *testing.T, addr string, pki *testPKI) net.Conn {
		r := dialRawTLS12(t, addr, pki)
		r.write(t, records(r))
		if halfClose {
			r.c.CloseWrite()
		}
		return r.c
	}
}

func repeatRecord(n int, typ byte, content []byte) func(r *rawTLS12) []byte {
	return func(r *rawTLS12) []byte {
		var b []byte
		for range n {
			b = append(b, r.record(typ, content)...)
		}
		return b
	}
}

func TestTLSBadInput(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	cases := []struct {
		name    string
		timeout string // handshake_timeout (the good client's too: 1s leaves it room under -race)
		client  tlsBadClient
		reason  string
	}{
		{"http before a ClientHello", "5s", sendRaw([]byte("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")), "handshake"},
		{"zeros before a ClientHello", "5s", sendRaw(make([]byte, 64)), "handshake"},
		{"SSLv2 hello", "5s", sendRaw(sslv2Hello), "protocol_version"},
		{"SSLv3 ClientHello", "5s", sendRaw(sslv3ClientHello()), "protocol_version"},
		{"ClientHello dribbled", "1s", func(t *testing.T, addr string, _ *testPKI) net.Conn {
			c := dial(t, addr)
			hello := sslv3ClientHello()
			hello[2] = 3 // a TLS 1.2 record header
			go func() {
				for _, b := range hello {
					if _, err := c.Write([]byte{b}); err != nil {
						return
					}
					time.Sleep(200 * time.Millisecond)
				}
			}()
			return c
		}, "timeout"},
		{"ClientHello after the handshake", "5s", afterHandshake(func(r *rawTLS12) []byte {
			return r.record(22, []byte{1, 0, 0, 4, 3, 3, 0, 0})
		}, false), "renegotiation"},
		{"HelloRequest after the handshake", "5s", afterHandshake(func(r *rawTLS12) []byte {
			return r.record(22, []byte{0, 0, 0, 0})
		}, false), "renegotiation"},
		{"record over 2^14+256 bytes", "5s", afterHandshake(func(r *rawTLS12) []byte {
			n := 1<<14 + 256 + 1
			return append([]byte{23, 3, 3, byte(n >> 8), byte(n)}, make([]byte, n)...)
		}, false), "bad_record"},
		{"record shorter than its tag", "5s", afterHandshake(func(r *rawTLS12) []byte {
			return append([]byte{23, 3, 3, 0, 10}, make([]byte, 10)...)
		}, false), "bad_record"},
		{"bad MAC", "5s", afterHandshake(func(r *rawTLS12) []byte {
			rec := r.record(23, []byte("hello\n"))
			rec[len(rec)-1] ^= 1
			return rec
		}, false), "bad_record"},
		{"change_cipher_spec after the handshake", "5s", afterHandshake(func(r *rawTLS12) []byte {
			return r.record(20, []byte{1})
		}, false), "bad_record"},
		{"record cut short, then EOF", "5s", afterHandshake(func(r *rawTLS12) []byte {
			rec := r.record(23, bytes.Repeat([]byte("x"), 100))
			return rec[:len(rec)/2]
		}, true), "truncated"},
		{"empty records", "5s", afterHandshake(repeatRecord(40, 23, nil), false), "flood"},
		{"user_canceled alerts", "5s", afterHandshake(repeatRecord(40, 21, []byte{1, 90}), false), "flood"},
		{"fatal alert", "5s", afterHandshake(repeatRecord(1, 21, []byte{2, 40}), false), "alert"},
		{"EOF without close_notify", "5s", afterHandshake(func(r *rawTLS12) []byte {
			return r.record(23, []byte("no close_notify follows\n"))
		}, true), "truncated"},
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					logs := &lockedBuffer{}
					r := startLogging(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: raw, tls: {cert: %q, key: %q, handshake_timeout: %s}}
  back:  {kind: tcp, connect: %q, framing: raw}
routes:
  - {pattern: bridge, from: front, to: back}
`, cert, key, tc.timeout, echoServer(t)), logs)
					addr := r.Addr("front")
					good := dialGoodTLS(t, addr, pki, 0)
					good.roundTrip(t)
					bad := tc.client(t, addr, pki)
					took := closedByPeer(t, bad)
					waitFor(t, "the failure counted", func() bool {
						_, failed, _ := tlsStats(r, "front")
						return failedTotal(failed) > 0
					})
					good.roundTrip(t)
					_, failed, errs := tlsStats(r, "front")
					if failed[tc.reason] != 1 || failedTotal(failed) != 1 {
						t.Errorf("SecureFailed %v, want 1 %s", failed, tc.reason)
					}
					if errs != 1 {
						t.Errorf("Errors %d, want 1", errs)
					}
					if n := tlsFailLogs(logs); n != 1 {
						t.Errorf("%d TLS failure log lines, want 1:\n%s", n, logs)
					}
					if strings.Contains(tc.name, "dribbled") {
						t.Logf("closed %v after the first byte", took.Round(time.Millisecond))
					}
				})
			}
		})
	}
}

// tlsBadServer is what a hostile server does with each connection
// pxroute's TLS connect endpoint opens to it.
type tlsBadServer func(c *net.TCPConn, cert tls.Certificate)

// afterServerHandshake finishes a TLS 1.2 handshake, then writes what
// records makes of the server's keys and closes.
func afterServerHandshake(records func(r *rawTLS12) []byte) tlsBadServer {
	return func(c *net.TCPConn, cert tls.Certificate) {
		r, err := serveRawTLS12(c, cert)
		if err != nil {
			return // pxroute finds nothing to count: the test says so
		}
		c.Write(records(r))
		c.Read(make([]byte, 1)) // until pxroute closes
	}
}

// hostileServer runs bad on every connection accepted until the test ends.
func hostileServer(t *testing.T, bad tlsBadServer, cert tls.Certificate) string {
	t.Helper()
	return serveEach(t, listenLocal(t), func(c net.Conn) {
		c.SetDeadline(time.Now().Add(ioTimeout))
		bad(c.(*net.TCPConn), cert)
	})
}

// TestTLSBadServer: a TLS connect endpoint facing a hostile server. The
// endpoint reconnects (each attempt fails again, counted by reason) and
// the episode is logged once; a TLS listener beside it keeps serving a
// good client.
func TestTLSBadServer(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	certFile, keyFile := pki.server(t, "localhost")
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		server tlsBadServer
		reason string
	}{ // handshake_timeout is 300ms for the silent server, 5s for the rest (a real handshake under -race may take 300ms)
		{"garbage for a ServerHello", func(c *net.TCPConn, _ tls.Certificate) {
			c.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n"))
		}, "handshake"},
		{"protocol_version alert", func(c *net.TCPConn, _ tls.Certificate) {
			c.Read(make([]byte, 4096))
			c.Write([]byte{21, 3, 1, 0, 2, 2, 70})
		}, "protocol_version"},
		{"silent server", func(c *net.TCPConn, _ tls.Certificate) {
			c.Read(make([]byte, 4096))
			c.Read(make([]byte, 4096)) // until pxroute gives up
		}, "timeout"},
		{"HelloRequest after the handshake", afterServerHandshake(func(r *rawTLS12) []byte {
			return r.record(22, []byte{0, 0, 0, 0})
		}), "renegotiation"},
		{"bad MAC", afterServerHandshake(func(r *rawTLS12) []byte {
			rec := r.record(23, []byte("hello\n"))
			rec[len(rec)-1] ^= 1
			return rec
		}), "bad_record"},
		{"EOF without close_notify", afterServerHandshake(func(r *rawTLS12) []byte {
			r.c.Write(r.record(23, []byte("no close_notify follows\n")))
			r.c.CloseWrite()
			return nil
		}), "truncated"},
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					logs := &lockedBuffer{}
					r := startLogging(t, v, fmt.Sprintf(`
endpoints:
  in:    {kind: tcp, listen: "127.0.0.1:0", framing: raw}
  up:    {kind: tcp, connect: %q, framing: raw, tls: {ca: %q, server_name: localhost, handshake_timeout: %s}}
  front: {kind: tcp, listen: "127.0.0.1:0", framing: raw, tls: {cert: %q, key: %q}}
  back:  {kind: tcp, connect: %q, framing: raw}
routes:
  - {pattern: fanout, from: in, to: up}
  - {pattern: bridge, from: front, to: back}
`, hostileServer(t, tc.server, cert), pki.caPath, handshakeTimeout(tc.reason), certFile, keyFile, echoServer(t)), logs)
					good := dialGoodTLS(t, r.Addr("front"), pki, 0)
					good.roundTrip(t)
					waitFor(t, "two failures counted", func() bool {
						_, failed, _ := tlsStats(r, "up")
						return failedTotal(failed) >= 2
					})
					good.roundTrip(t)
					_, failed, _ := tlsStats(r, "up")
					if failed[tc.reason] != failedTotal(failed) {
						t.Errorf("SecureFailed %v, want only %s", failed, tc.reason)
					}
					if _, f, _ := tlsStats(r, "front"); failedTotal(f) != 0 {
						t.Errorf("the good listener counted failures %v", f)
					}
					// The TLS episode's lines: a failed handshake is the
					// reconnect episode's ("connecting ... err=REASON: ..."),
					// one after it the TLS episode's.
					var lines []string
					lost := 0
					for _, l := range strings.Split(logs.String(), "\n") {
						switch {
						case !strings.Contains(l, "endpoint=up") || strings.Contains(l, "level=DEBUG") ||
							strings.Contains(l, `msg="tls records"`): // the start's line, not a failure's
						case strings.Contains(l, "connection lost"):
							lost++
						case strings.Contains(l, "TLS") || strings.Contains(l, `err="`+tc.reason+":"):
							lines = append(lines, l)
						}
					}
					if len(lines) != 1 {
						t.Errorf("%d log lines over %d failures, want 1:\n%s", len(lines), failedTotal(failed), strings.Join(lines, "\n"))
					}
					t.Logf("%d failures, %d \"connection lost, reconnecting\" lines", failedTotal(failed), lost)
				})
			}
		})
	}
}

// TestTLSBadRepeated: clients that each finish a handshake and then send
// a bad record are one episode: one log line for all of them, not a
// "TLS failed" and a "handshakes complete again" for each.
func TestTLSBadRepeated(t *testing.T) {
	const bad = 5
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			logs := &lockedBuffer{}
			r := startLogging(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: raw, tls: {cert: %q, key: %q}}
  back:  {kind: tcp, connect: %q, framing: raw}
routes:
  - {pattern: bridge, from: front, to: back}
`, cert, key, echoServer(t)), logs)
			addr := r.Addr("front")
			good := dialGoodTLS(t, addr, pki, 0)
			good.roundTrip(t)
			badMAC := afterHandshake(func(r *rawTLS12) []byte {
				rec := r.record(23, []byte("hello\n"))
				rec[len(rec)-1] ^= 1
				return rec
			}, false)
			for range bad {
				closedByPeer(t, badMAC(t, addr, pki))
			}
			waitFor(t, "every failure counted", func() bool {
				_, failed, _ := tlsStats(r, "front")
				return failed["bad_record"] == bad
			})
			good.roundTrip(t)
			var lines []string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "TLS failed") || strings.Contains(l, "complete again") || strings.Contains(l, "cleanly again") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 {
				t.Errorf("%d log lines for %d bad clients, want 1:\n%s", len(lines), bad, strings.Join(lines, "\n"))
			}
		})
	}
}

// handshakeTimeout is 300ms where the case is a timeout, else 5s.
func handshakeTimeout(reason string) string {
	if reason == "timeout" {
		return "300ms"
	}
	return "5s"
}
