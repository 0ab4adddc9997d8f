package tests

import (
	"bytes"
	"fmt"
	"testing"
)

// Issue 21 defect: a raw bridge from a plain listener to a tls connect
// endpoint spliced the client's bytes into the TLS connection as they
// were, unsealed. The splice was decided when the client's first bytes
// came, while the dialled side was still in its handshake (and so had no
// sealing session yet); once the handshake ended the pipe was spliced out
// to it. The TLS server read plaintext where a record belongs ("received
// record with version 2030": the bytes " 0" of the payload) and closed.
// A TLS side must never splice, in either direction.
func TestTLSRawBridgeNeverSplicesPlaintext(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	send := tlsInteropPayload(64 << 10)
	for _, v := range variants() {
		for _, ver := range []string{"1.2", "1.3"} {
			t.Run(fmt.Sprintf("%s/plain-listen-to-tls-connect/tls%s", v, ver), func(t *testing.T) {
				srv := goTLSServer(t, tlsOptions{version: ver, cert: cert, key: key, echo: true})
				r := originating(t, v, srv.addr, fmt.Sprintf("ca: %q, server_name: localhost", pki.caPath))
				got, err := plainExchange(t, "tcp", r.Addr("front"), send, len(send))
				s := srv.wait(t)
				if !bytes.Equal(s.got, send) || !bytes.Equal(got, send) {
					t.Fatalf("the TLS server received %d bytes of %d (%v); the client got %d back (%v)", len(s.got), len(send), s.err, len(got), err)
				}
				waitTLSFigures(t, r, "back", tlsFigures{Secured: 1, Failed: failed()})
				checkAccounting(t, r, "front", "back")
			})
		}
	}
}

// TestTLSLargeFrameNeverCutThroughUnsealed: a length-prefixed message
// large enough to be cut through (256 KiB and up), sent from a plain
// listener to a tls connect endpoint dialled for it, reaches the TLS
// server whole and sealed, even though it starts arriving while the
// dialled side is still in its handshake.
func TestTLSLargeFrameNeverCutThroughUnsealed(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	msg := frame(tlsInteropPayload(1 << 20))
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			srv := goTLSServer(t, tlsOptions{cert: cert, key: key})
			r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: length-prefix}
  back:  {kind: tcp, connect: %q, framing: length-prefix, tls: {ca: %q, server_name: localhost}}
routes:
  - {pattern: forward, from: front, to: back}
`, srv.addr, pki.caPath))
			c := dial(t, r.Addr("front"))
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the message delivered", func() bool { return endpoint(r.Stats(), "back").MsgsOut == 1 })
			c.Close()
			s := srv.wait(t)
			if !bytes.Equal(s.got, msg) {
				t.Fatalf("the TLS server received %d bytes of %d (equal %v): %v", len(s.got), len(msg), bytes.Equal(s.got, msg), s.err)
			}
			waitTLSFigures(t, r, "back", tlsFigures{Secured: 1, Failed: failed()})
			checkAccounting(t, r, "front", "back")
		})
	}
}
