package tests

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// TestTLSServerNameAndALPN checks what pxroute says in its hellos and
// agrees in them, against the peers that can tell: as a client it sends
// server_name as SNI (seen by the Go and Python servers) and offers alpn
// (agreed by the openssl, Python and Go servers that select it); as a
// server with alpn: ["pxroute"] it agrees it with every client that
// offers it among others. Bytes echo byte-exact; one handshake counted.
func TestTLSServerNameAndALPN(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "backend.example.org")
	send := tlsInteropPayload(4 << 10)
	byName := map[string]tlsPeer{}
	for _, p := range tlsPeers {
		byName[p.name] = p
	}
	for _, v := range variants() {
		for _, name := range []string{"python", "go"} {
			peer := byName[name]
			t.Run(fmt.Sprintf("%s/client-sends-server_name-to-%s", v, name), func(t *testing.T) {
				srv := peer.server(t, tlsOptions{cert: cert, key: key, echo: true})
				r := originating(t, v, srv.addr, fmt.Sprintf("ca: %q, server_name: backend.example.org", pki.caPath))
				s := originatingEcho(t, r, srv, send)
				if s.info.SNI != "backend.example.org" {
					t.Errorf("the %s server saw SNI %q, want backend.example.org", name, s.info.SNI)
				}
			})
		}
		for _, peer := range tlsPeers {
			if !peer.cannot.serverALPN {
				t.Run(fmt.Sprintf("%s/client-offers-alpn-to-%s", v, peer.name), func(t *testing.T) {
					srv := peer.server(t, tlsOptions{cert: cert, key: key, alpn: []string{"pxroute"}, echo: true})
					r := originating(t, v, srv.addr, fmt.Sprintf("ca: %q, server_name: backend.example.org, alpn: [h2, pxroute]", pki.caPath))
					s := originatingEcho(t, r, srv, send)
					if s.info.Version != "" && s.info.ALPN != "pxroute" { // the servers that report
						t.Errorf("the %s server agreed ALPN %q, want pxroute", peer.name, s.info.ALPN)
					}
				})
			}
			if !peer.cannot.clientALPN {
				t.Run(fmt.Sprintf("%s/server-agrees-alpn-with-%s", v, peer.name), func(t *testing.T) {
					r := terminating(t, v, cert, key, ", alpn: [pxroute]")
					res := peer.client(t, r.Addr("front"), tlsOptions{ca: pki.caPath, serverName: "backend.example.org", alpn: []string{"h2", "pxroute"}}, send, len(send))
					if res.err != nil || !bytes.Equal(res.got, send) {
						t.Fatalf("err %v; got %d bytes back of %d", res.err, len(res.got), len(send))
					}
					if (peer.name == "python" || peer.name == "go") && res.info.ALPN != "pxroute" {
						t.Errorf("the %s client agreed ALPN %q, want pxroute", peer.name, res.info.ALPN)
					}
					waitTLSFigures(t, r, "front", cleanClose(peer))
				})
			}
		}
	}
}

// originatingEcho sends send through r's plain front to the TLS server
// srv behind "back" and back, byte-exact both ways; it checks one
// handshake and no failure on back and returns what the server saw.
func originatingEcho(t *testing.T, r *router.Router, srv *tlsServer, send []byte) tlsResult {
	t.Helper()
	got, err := plainExchange(t, "tcp", r.Addr("front"), send, len(send))
	s := srv.wait(t)
	if err != nil || s.err != nil || !bytes.Equal(got, send) || !bytes.Equal(s.got, send) {
		t.Fatalf("client: err %v, %d bytes back of %d; server: err %v, received %d", err, len(got), len(send), s.err, len(s.got))
	}
	waitTLSFigures(t, r, "back", tlsFigures{Secured: 1, Failed: failed()})
	return s
}
