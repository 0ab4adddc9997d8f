package tests

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// Issue 21: pxroute's TLS against the real peers users run (tlsPeers),
// end to end over loopback, on both engines and loops 1 and 2.

// tlsInteropSize is what each interop case echoes: past one 16 KiB
// record and the socket buffers' first fill, small enough that the whole
// table (each case with its own router and peer process) stays quick.
const tlsInteropSize = 96 << 10

// terminating starts pxroute terminating TLS: tls listen "front" (cert,
// key and extra tls keys) bridged to plain "back", an echo server.
func terminating(t *testing.T, v variant, cert, key, extra string) *router.Router {
	t.Helper()
	return start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: raw, tls: {cert: %q, key: %q%s}}
  back:  {kind: tcp, connect: %q, framing: raw}
routes:
  - {pattern: bridge, from: front, to: back}
`, cert, key, extra, echoServer(t)))
}

// originating starts pxroute originating TLS: plain listen "front"
// bridged to tls connect "back" at addr, with tls keys tlsKeys.
func originating(t *testing.T, v variant, addr, tlsKeys string) *router.Router {
	t.Helper()
	return start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: raw}
  back:  {kind: tcp, connect: %q, framing: raw, tls: {%s}}
routes:
  - {pattern: bridge, from: front, to: back}
`, addr, tlsKeys))
}

// echoSize is how much a client peer gets echoed: tlsInteropSize, or
// no more than fits one 8 KiB read for a peer that stalls on a larger
// record (tlsCannot.bigRecords): what comes back is then never one.
func echoSize(peer tlsPeer) int {
	if peer.cannot.bigRecords {
		return 8 << 10
	}
	return tlsInteropSize
}

// cleanClose is the figures of one connection that ended well. A peer
// that closes without close_notify (ncat) ends a terminating connection
// as a truncation: counted, and so an error, though every byte came.
func cleanClose(peer tlsPeer) tlsFigures {
	if peer.name == "ncat" {
		return tlsFigures{Secured: 1, Failed: failed("truncated", 1), Errors: 1}
	}
	return tlsFigures{Secured: 1, Failed: failed()}
}

// TestTLSInterop runs every peer as a client of pxroute terminating TLS
// and as the server behind pxroute originating it, over TLS 1.2 and 1.3:
// the bytes come back byte-exact, the version is the one the peer pinned
// (where it reports it), and the TLS endpoint counts one handshake and
// no failure (ncat: one truncation, as it sends no close_notify).
func TestTLSInterop(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	send := tlsInteropPayload(tlsInteropSize)
	for _, v := range variants() {
		for _, peer := range tlsPeers {
			for _, ver := range []string{"1.2", "1.3"} {
				t.Run(fmt.Sprintf("%s/%s-client-into-terminating/tls%s", v, peer.name, ver), func(t *testing.T) {
					r := terminating(t, v, cert, key, "")
					send := send[:echoSize(peer)]
					res := peer.client(t, r.Addr("front"), tlsOptions{version: ver, ca: pki.caPath, serverName: "localhost"}, send, len(send))
					if res.err != nil || !bytes.Equal(res.got, send) {
						t.Fatalf("err %v; got %d bytes back of %d (equal %v)", res.err, len(res.got), len(send), bytes.Equal(res.got, send))
					}
					if res.info.Version != "" && res.info.Version != ver {
						t.Errorf("%s says it agreed TLS %s", peer.name, res.info.Version)
					}
					waitTLSFigures(t, r, "front", cleanClose(peer))
					checkAccounting(t, r, "front", "back")
				})
				t.Run(fmt.Sprintf("%s/%s-server-behind-originating/tls%s", v, peer.name, ver), func(t *testing.T) {
					srv := peer.server(t, tlsOptions{version: ver, cert: cert, key: key, echo: true})
					r := originating(t, v, srv.addr, fmt.Sprintf("ca: %q, server_name: localhost", pki.caPath))
					got, err := plainExchange(t, "tcp", r.Addr("front"), send, len(send))
					if err != nil || !bytes.Equal(got, send) {
						t.Fatalf("err %v; got %d bytes back of %d (equal %v); server: %v", err, len(got), len(send), bytes.Equal(got, send), srv.wait(t).err)
					}
					s := srv.wait(t)
					if s.err != nil || !bytes.Equal(s.got, send) {
						t.Fatalf("%s server: err %v; received %d bytes of %d (equal %v)", peer.name, s.err, len(s.got), len(send), bytes.Equal(s.got, send))
					}
					if s.info.Version != "" && s.info.Version != ver {
						t.Errorf("%s says it agreed TLS %s", peer.name, s.info.Version)
					}
					waitTLSFigures(t, r, "back", tlsFigures{Secured: 1, Failed: failed()})
					checkAccounting(t, r, "front", "back")
				})
			}
		}
	}
}
