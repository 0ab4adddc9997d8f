package tlsrecord

import (
	"bytes"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
)

// pair12 is a TLS 1.2 client and server Conn sharing made-up secrets.
func pair12(t testing.TB, suite uint16) (client, server *Conn) {
	t.Helper()
	s := Secrets{Version: tls.VersionTLS12, Suite: suite,
		MasterSecret: bytes.Repeat([]byte{7}, 48), ClientRandom: bytes.Repeat([]byte{1}, 32),
		ServerRandom: bytes.Repeat([]byte{2}, 32), ReadSeq: 1, WriteSeq: 1}
	var err error
	if server, err = New(s); err != nil {
		t.Fatal(err)
	}
	s.IsClient = true
	if client, err = New(s); err != nil {
		t.Fatal(err)
	}
	return client, server
}

// rec seals one record of type typ from peer (sealRecord makes any type,
// as a misbehaving peer would).
func rec(t testing.TB, peer *Conn, typ byte, content []byte) []byte {
	t.Helper()
	b, err := peer.sealRecord(nil, typ, content)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func repeat(n int, f func() []byte) []byte {
	var b []byte
	for range n {
		b = append(b, f()...)
	}
	return b
}

// TestOpenBadInput feeds the server side of a TLS 1.3 and a TLS 1.2
// connection what a broken or hostile client sends.
func TestOpenBadInput(t *testing.T) {
	type peerInput func(t testing.TB, peer *Conn) []byte
	data := func(s string) peerInput {
		return func(t testing.TB, p *Conn) []byte { return rec(t, p, typeApplicationData, []byte(s)) }
	}
	cat := func(fs ...peerInput) peerInput {
		return func(t testing.TB, p *Conn) []byte {
			var b []byte
			for _, f := range fs {
				b = append(b, f(t, p)...)
			}
			return b
		}
	}
	raw := func(b []byte) peerInput { return func(testing.TB, *Conn) []byte { return b } }
	typed := func(typ byte, content ...byte) peerInput {
		return func(t testing.TB, p *Conn) []byte { return rec(t, p, typ, content) }
	}
	empties := func(n int) peerInput {
		return func(t testing.TB, p *Conn) []byte {
			return repeat(n, func() []byte { return rec(t, p, typeApplicationData, nil) })
		}
	}
	userCanceled := func(n int) peerInput {
		return func(t testing.TB, p *Conn) []byte {
			return repeat(n, func() []byte { return rec(t, p, typeAlert, []byte{1, alertUserCanceled}) })
		}
	}
	corrupt := func(f peerInput, at int) peerInput {
		return func(t testing.TB, p *Conn) []byte { b := f(t, p); b[at] ^= 1; return b }
	}
	const tls12, tls13, both = 1, 2, 3
	for _, tc := range []struct {
		name     string
		versions int
		in       peerInput
		want     string // plaintext opened
		reason   Reason // want an *Error of this reason...
		closed   bool   // ...or ErrClosed
		ok       bool   // ...or no error
		msg      string // in the error's text
	}{
		{"data-opens", both, cat(data("a"), data("bc")), "abc", 0, false, true, ""},
		{"bad-mac-is-bad-record", both, corrupt(data("hello"), 7), "", BadRecord, false, false, "bad_record_mac"},
		{"bad-mac-after-good-data-keeps-the-data", both, cat(data("ok"), corrupt(data("hello"), 9)), "ok", BadRecord, false, false, "bad_record_mac"},
		{"oversize-header-refused-from-its-header-alone", both, raw([]byte{23, 3, 3, 0x41, 0x01}), "", BadRecord, false, false, "record_overflow"},
		{"oversize-plaintext-is-record-overflow", both, typed(typeApplicationData, make([]byte, maxPlain+1)...), "", BadRecord, false, false, "record_overflow"},
		{"record-shorter-than-its-tag", both, raw([]byte{23, 3, 3, 0, 3, 1, 2, 3}), "", BadRecord, false, false, "bad_record_mac"},
		{"cut-record-is-kept-not-refused", both, func(t testing.TB, p *Conn) []byte {
			b := data("whole")(t, p)
			return append(b, data("cut")(t, p)[:9]...)
		}, "whole", 0, false, true, ""},
		{"wrong-version", both, raw([]byte{23, 3, 1, 0, 20}), "", BadRecord, false, false, "version"},
		{"unknown-type", tls12, typed(24, 1, 2), "", BadRecord, false, false, "unknown type"},
		{"close-notify-ends-input-keeping-data-before", both, cat(data("last"), typed(typeAlert, 1, alertCloseNotify), data("after")), "last", 0, true, false, ""},
		{"fatal-alert-is-named", both, typed(typeAlert, 2, 40), "", Alert, false, false, "fatal alert handshake_failure"},
		{"warning-alert-other-than-close-is-alert", both, typed(typeAlert, 1, 100), "", Alert, false, false, "warning alert no_renegotiation"},
		{"malformed-alert", both, typed(typeAlert, 2), "", BadRecord, false, false, "alert of 1 bytes"},
		{"32-user-canceled-then-data-is-fine", both, cat(userCanceled(32), data("x"), userCanceled(32), data("y")), "xy", 0, false, true, ""},
		{"alert-flood", both, userCanceled(33), "", Flood, false, false, "33 records in a row"},
		{"32-empty-records-then-data-is-fine", both, cat(empties(32), data("x"), empties(32), data("y")), "xy", 0, false, true, ""},
		{"empty-record-flood", both, empties(33), "", Flood, false, false, "33 records in a row"},
		{"ticket-flood", tls13, func(t testing.TB, p *Conn) []byte {
			return repeat(33, func() []byte { return rec(t, p, typeHandshake, []byte{msgNewSessionTicket, 0, 0, 0}) })
		}, "", BadRecord, false, false, "NewSessionTicket sent to the server"},
		{"renegotiation-client-hello", both, typed(typeHandshake, msgClientHello, 0, 0, 0), "", Renegotiation, false, false, "renegotiate"},
		{"renegotiation-hello-request", both, typed(typeHandshake, msgHelloRequest, 0, 0, 0), "", Renegotiation, false, false, ""},
		{"post-handshake-certificate-request", tls13, typed(typeHandshake, 13, 0, 0, 0), "", Renegotiation, false, false, "message 13"},
		{"tls12-other-handshake-message", tls12, typed(typeHandshake, 20, 0, 0, 0), "", BadRecord, false, false, "handshake message 20"},
		{"empty-handshake-record", both, typed(typeHandshake), "", BadRecord, false, false, "empty handshake"},
		{"change-cipher-spec-after-handshake-tls13", tls13, raw([]byte{20, 3, 3, 0, 1, 1}), "", BadRecord, false, false, "change_cipher_spec"},
		{"change-cipher-spec-after-handshake-tls12", tls12, typed(typeChangeCipherSpec, 1), "", BadRecord, false, false, "type 20"},
		{"unprotected-alert-tls13", tls13, raw([]byte{21, 3, 3, 0, 2, 2, 40}), "", BadRecord, false, false, "unprotected"},
		{"no-content-type-tls13", tls13, typed(0), "", BadRecord, false, false, "no content type"},
		{"padding-is-stripped-tls13", tls13, typed(typeApplicationData, 'p', 'a', 'd', typeApplicationData, 0, 0, 0), "pad\x17\x00\x00\x00", 0, false, true, ""},
		{"key-update-not-last-in-its-record", tls13, typed(typeHandshake, msgKeyUpdate, 0, 0, 1, 0, msgKeyUpdate, 0, 0, 1, 0), "", BadRecord, false, false, "not at the end"},
		{"malformed-key-update", tls13, typed(typeHandshake, msgKeyUpdate, 0, 0, 1, 2), "", BadRecord, false, false, "malformed KeyUpdate"},
		{"handshake-message-split-then-data", tls13, cat(typed(typeHandshake, msgKeyUpdate, 0), data("x")), "", BadRecord, false, false, "inside a handshake message"},
		{"huge-handshake-message-refused-from-its-header", tls13, typed(typeHandshake, msgNewSessionTicket, 1, 0, 1), "", BadRecord, false, false, "handshake message of 65537 bytes"},
	} {
		for _, v := range []struct {
			bit  int
			name string
			pair func(testing.TB) (*Conn, *Conn)
		}{
			{tls13, "tls13", func(t testing.TB) (*Conn, *Conn) { return rfc8448Conn(t, true, 0, 0), rfc8448Conn(t, false, 0, 0) }},
			{tls12, "tls12-gcm", func(t testing.TB) (*Conn, *Conn) { return pair12(t, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) }},
			{tls12, "tls12-chacha20", func(t testing.TB) (*Conn, *Conn) {
				return pair12(t, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)
			}},
		} {
			if tc.versions&v.bit == 0 {
				continue
			}
			t.Run(v.name+"/"+tc.name, func(t *testing.T) {
				client, server := v.pair(t)
				in := tc.in(t, client)
				out, err := server.Open(in, nil)
				if string(out) != tc.want {
					t.Errorf("opened %q, want %q", out, tc.want)
				}
				var e *Error
				switch {
				case tc.ok:
					if err != nil {
						t.Fatalf("error %v, want none", err)
					}
				case tc.closed:
					if !errors.Is(err, ErrClosed) {
						t.Fatalf("error %v, want ErrClosed", err)
					}
				case !errors.As(err, &e) || e.Reason != tc.reason || !strings.Contains(e.Error(), tc.msg):
					t.Fatalf("error %v, want a %v error saying %q", err, tc.reason, tc.msg)
				}
				if err != nil {
					if _, again := server.Open(nil, nil); again != err {
						t.Fatalf("Open after %v: %v, want the same error", err, again)
					}
				}
			})
		}
	}
}

// TestSequenceExhausted: the last sequence number is never used; Seal and
// Open then fail cleanly instead of reusing a nonce.
func TestSequenceExhausted(t *testing.T) {
	c := rfc8448Conn(t, true, maxSeq, maxSeq-1)
	if _, err := c.Seal([]byte("last"), nil); err != nil {
		t.Fatalf("sealing with sequence 2^64-2: %v", err)
	}
	var e *Error
	if _, err := c.Seal([]byte("one more"), nil); !errors.As(err, &e) || e.Reason != SeqExhausted {
		t.Fatalf("sealing with sequence 2^64-1: %v, want SeqExhausted", err)
	}
	if b := c.CloseNotify(nil); len(b) != 0 {
		t.Fatalf("close_notify sealed with sequence 2^64-1: %x", b)
	}
	if _, err := c.Open(rfc8448ServerData, nil); !errors.As(err, &e) || e.Reason != SeqExhausted {
		t.Fatalf("opening with sequence 2^64-1: %v, want SeqExhausted", err)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Secrets
		msg  string
	}{
		{"cbc-suite", Secrets{Version: tls.VersionTLS12, Suite: tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA (0xc013) is not supported"},
		{"rsa-key-exchange-gcm", Secrets{Version: tls.VersionTLS12, Suite: tls.TLS_RSA_WITH_AES_128_GCM_SHA256}, "is not supported"},
		{"tls13-suite-in-tls12", Secrets{Version: tls.VersionTLS12, Suite: tls.TLS_AES_128_GCM_SHA256}, "is not one of TLS 1.2"},
		{"short-tls13-secret", Secrets{Version: tls.VersionTLS13, Suite: tls.TLS_AES_256_GCM_SHA384, ClientTrafficSecret: make([]byte, 32), ServerTrafficSecret: make([]byte, 32)}, "want 48"},
		{"missing-tls12-random", Secrets{Version: tls.VersionTLS12, Suite: tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, MasterSecret: make([]byte, 48), ClientRandom: make([]byte, 32)}, "want 48, 32 and 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.s); err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("New: %v, want an error saying %q", err, tc.msg)
			}
		})
	}
}

// TestTicketsToClient: the client absorbs session tickets, whole or split
// across records, and a flood of them is refused.
func TestTicketsToClient(t *testing.T) {
	ticket := append([]byte{msgNewSessionTicket, 0, 0x10, 0}, make([]byte, 0x1000)...)
	for _, tc := range []struct {
		name   string
		in     func(server *Conn) []byte
		want   string
		reason Reason
		ok     bool
	}{
		{"ticket-then-data", func(s *Conn) []byte {
			return append(rec(t, s, typeHandshake, ticket), rec(t, s, typeApplicationData, []byte("d"))...)
		}, "d", 0, true},
		{"ticket-split-across-three-records", func(s *Conn) []byte {
			b := rec(t, s, typeHandshake, ticket[:2])
			b = append(b, rec(t, s, typeHandshake, ticket[2:100])...)
			b = append(b, rec(t, s, typeHandshake, ticket[100:])...)
			return append(b, rec(t, s, typeApplicationData, []byte("d"))...)
		}, "d", 0, true},
		{"two-tickets-in-one-record", func(s *Conn) []byte {
			return append(rec(t, s, typeHandshake, append(append([]byte(nil), ticket...), ticket...)), rec(t, s, typeApplicationData, []byte("d"))...)
		}, "d", 0, true},
		{"32-tickets-then-data", func(s *Conn) []byte {
			b := repeat(32, func() []byte { return rec(t, s, typeHandshake, ticket) })
			return append(b, rec(t, s, typeApplicationData, []byte("d"))...)
		}, "d", 0, true},
		{"ticket-flood", func(s *Conn) []byte {
			return repeat(33, func() []byte { return rec(t, s, typeHandshake, ticket) })
		}, "", Flood, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := rfc8448Conn(t, true, 0, 0), rfc8448Conn(t, false, 0, 0)
			out, err := client.Open(tc.in(server), nil)
			var e *Error
			if string(out) != tc.want || (tc.ok && err != nil) || (!tc.ok && (!errors.As(err, &e) || e.Reason != tc.reason)) {
				t.Fatalf("opened %q, %v; want %q and reason %v (ok %v)", out, err, tc.want, tc.reason, tc.ok)
			}
			if pend, hs := client.held(); cap(hs) > hsBufCap || cap(pend) > recordHeader+maxCipher {
				t.Fatalf("buffers grew to %d and %d", cap(hs), cap(pend))
			}
		})
	}
}
