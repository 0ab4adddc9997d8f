package tests

import (
	"bytes"
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
		timeout string // handshake_timeout
		client  tlsBadClient
		reason  string
	}{
		{"http before a ClientHello", "5s", sendRaw([]byte("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")), "handshake"},
		{"zeros before a ClientHello", "5s", sendRaw(make([]byte, 64)), "handshake"},
		{"SSLv2 hello", "5s", sendRaw(sslv2Hello), "protocol_version"},
		{"SSLv3 ClientHello", "5s", sendRaw(sslv3ClientHello()), "protocol_version"},
		{"ClientHello dribbled", "300ms", func(t *testing.T, addr string, _ *testPKI) net.Conn {
			c := dial(t, addr)
			hello := sslv3ClientHello()
			hello[2] = 3 // a TLS 1.2 record header
			go func() {
				for _, b := range hello {
					if _, err := c.Write([]byte{b}); err != nil {
						return
					}
					time.Sleep(100 * time.Millisecond)
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
