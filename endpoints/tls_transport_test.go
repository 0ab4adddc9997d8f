package endpoints

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints/tlsrecord"
)

// tlsTransportPair is a client's and a server's transport over one set of
// made-up TLS 1.3 secrets.
func tlsTransportPair(t *testing.T) (client, server *tlsTransport) {
	t.Helper()
	s := tlsrecord.Secrets{Version: tls.VersionTLS13, Suite: tls.TLS_AES_128_GCM_SHA256,
		ClientTrafficSecret: make([]byte, 32), ServerTrafficSecret: make([]byte, 32)}
	rand.Read(s.ClientTrafficSecret)
	rand.Read(s.ServerTrafficSecret)
	st, err := newTLSTransport(s, []byte("early"), "TLS 1.3 TLS_AES_128_GCM_SHA256 peer=CN=test")
	if err != nil {
		t.Fatal(err)
	}
	s.IsClient = true
	ct, err := newTLSTransport(s, nil, "client")
	if err != nil {
		t.Fatal(err)
	}
	return ct.(*tlsTransport), st.(*tlsTransport)
}

func TestTLSTransport(t *testing.T) {
	for _, tc := range []struct {
		name   string
		wire   func(t *testing.T, client *tlsTransport) []byte // what the client sends
		want   string                                          // the server unseals
		closed bool                                            // then contract.ErrPeerClosed
		reason contract.SecureReason                           // or, unless ok, a *SecureError of this reason
		ok     bool
	}{
		{"data-unseals", func(t *testing.T, c *tlsTransport) []byte { return sealTLSTest(t, c, "hello") }, "hello", false, 0, true},
		{"close-notify-is-peer-closed-after-the-data-before-it", func(t *testing.T, c *tlsTransport) []byte {
			return c.CloseNotify(sealTLSTest(t, c, "bye"))
		}, "bye", true, 0, false},
		{"bad-mac-is-bad-record", func(t *testing.T, c *tlsTransport) []byte {
			b := sealTLSTest(t, c, "hello")
			b[len(b)-1] ^= 1
			return b
		}, "", false, contract.SecureBadRecord, false},
		{"oversize-header-is-bad-record", func(*testing.T, *tlsTransport) []byte { return []byte{23, 3, 3, 0x41, 1} }, "", false, contract.SecureBadRecord, false},
		{"key-update-flood-is-flood", func(t *testing.T, c *tlsTransport) []byte {
			var b []byte
			for range 33 {
				var err error
				if b, err = c.conn.KeyUpdate(false, b); err != nil {
					t.Fatal(err)
				}
			}
			return b
		}, "", false, contract.SecureFlood, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := tlsTransportPair(t)
			out, err := server.Unseal(tc.wire(t, client), nil)
			if string(out) != tc.want {
				t.Errorf("unsealed %q, want %q", out, tc.want)
			}
			var se *contract.SecureError
			switch {
			case tc.ok:
				if err != nil {
					t.Fatalf("error %v", err)
				}
			case tc.closed:
				if err != contract.ErrPeerClosed {
					t.Fatalf("error %v, want contract.ErrPeerClosed", err)
				}
			case !errors.As(err, &se) || se.Reason != tc.reason:
				t.Fatalf("error %v, want a SecureError of reason %v", err, tc.reason)
			}
		})
	}
}

func TestTLSTransportBothWaysAndAccessors(t *testing.T) {
	client, server := tlsTransportPair(t)
	msg := bytes.Repeat([]byte("0123456789"), 5000) // 4 records
	for _, dir := range []struct {
		name     string
		from, to *tlsTransport
	}{{"client-to-server", client, server}, {"server-to-client", server, client}} {
		wire, err := dir.from.Seal(msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dir.to.Unseal(wire, nil)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%s: unsealed %d bytes (%v), sealed %d", dir.name, len(got), err, len(msg))
		}
	}
	if left := server.Leftover(); string(left) != "early" || server.Described() != "TLS 1.3 TLS_AES_128_GCM_SHA256 peer=CN=test" {
		t.Fatalf("Leftover %q, Described %q", left, server.Described())
	}
	if again := server.Leftover(); again != nil {
		t.Fatalf("Leftover again: %q, want nil (taken once, not held)", again)
	}
}

// TestTLSTransportErrorMapping: each tlsrecord reason has its contract
// reason, the error text says what the record layer said, and the peer's
// close_notify is contract.ErrPeerClosed.
func TestTLSTransportErrorMapping(t *testing.T) {
	want := map[tlsrecord.Reason]contract.SecureReason{
		tlsrecord.BadRecord:     contract.SecureBadRecord,
		tlsrecord.Alert:         contract.SecureAlert,
		tlsrecord.Renegotiation: contract.SecureRenegotiation,
		tlsrecord.Flood:         contract.SecureFlood,
		tlsrecord.SeqExhausted:  contract.SecureBadRecord,
	}
	for r := range tlsrecord.Reasons {
		t.Run(r.String(), func(t *testing.T) {
			w, ok := want[r]
			if !ok {
				t.Fatalf("tlsrecord reason %v has no expected contract reason in this test", r)
			}
			err := tlsTransportError(&tlsrecord.Error{Reason: r, Msg: "the record layer's words"})
			var se *contract.SecureError
			if !errors.As(err, &se) || se.Reason != w || !strings.Contains(err.Error(), "the record layer's words") {
				t.Fatalf("%v maps to %v, want reason %v", r, err, w)
			}
		})
	}
	if err := tlsTransportError(tlsrecord.ErrClosed); err != contract.ErrPeerClosed {
		t.Fatalf("ErrClosed maps to %v", err)
	}
	if err := tlsTransportError(nil); err != nil {
		t.Fatalf("nil maps to %v", err)
	}
}

func TestTLSTransportRefusesUnsupportedSuite(t *testing.T) {
	_, err := newTLSTransport(tlsrecord.Secrets{Version: tls.VersionTLS12, Suite: tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256}, nil, "")
	if contract.SecureReasonOf(err) != contract.SecureProtocolVersion || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("error %v, want protocol_version saying the suite is not supported", err)
	}
}

func sealTLSTest(t *testing.T, c *tlsTransport, s string) []byte {
	t.Helper()
	b, err := c.Seal([]byte(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
