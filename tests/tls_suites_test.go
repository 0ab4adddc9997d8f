package tests

import (
	"bytes"
	"fmt"
	"testing"
)

// TestTLSInteropSuites pins every suite of tlsSuites on every peer that
// can pin it, with pxroute terminating (the peer is the client) and
// originating (the peer is the server): the bytes come back byte-exact
// and the suite agreed is the one pinned, as the peer reports it (openssl
// and Python as clients, Python and Go both ways). ncat and socat report
// nothing, but they offer only the pinned suite, so a handshake that
// succeeds agreed on it.
//
// Both engines, loops 1 only: the suite is chosen in the handshake, which
// runs off the loops in the endpoint's pool; a loop only runs the record
// layer on what was agreed, and TestTLSInterop covers that over loops 1
// and 2.
func TestTLSInteropSuites(t *testing.T) {
	pkis := map[keyAlgo]*testPKI{keyECDSA: newTestPKI(t, keyECDSA), keyRSA: newTestPKI(t, keyRSA)}
	type pair struct{ cert, key string }
	certs := map[keyAlgo]pair{}
	for algo, pki := range pkis {
		c, k := pki.server(t, "localhost")
		certs[algo] = pair{c, k}
	}
	send := tlsInteropPayload(20 << 10) // past one record
	for _, engine := range engines {
		v := variant{engine, 1}
		for _, s := range tlsSuites {
			algo := s.key
			if algo == "" {
				algo = keyRSA // TLS 1.3 over RSA here: TestTLSInterop runs it over ECDSA
			}
			pki, cert := pkis[algo], certs[algo]
			for _, peer := range tlsPeers {
				if peer.cannot.suites13 && s.version == "1.3" {
					continue
				}
				pinned := tlsOptions{version: s.version, ciphers: []string{s.openssl}}
				t.Run(fmt.Sprintf("%s/%s/%s-client-into-terminating", engine, s.openssl, peer.name), func(t *testing.T) {
					r := terminating(t, v, cert.cert, cert.key, "")
					o := pinned
					o.ca, o.serverName = pki.caPath, "localhost"
					send := send[:min(len(send), echoSize(peer))]
					res := peer.client(t, r.Addr("front"), o, send, len(send))
					if res.err != nil || !bytes.Equal(res.got, send) {
						t.Fatalf("err %v; got %d bytes back of %d (equal %v)", res.err, len(res.got), len(send), bytes.Equal(res.got, send))
					}
					checkSuite(t, peer.name, res.info, s)
					waitTLSFigures(t, r, "front", cleanClose(peer))
				})
				t.Run(fmt.Sprintf("%s/%s/%s-server-behind-originating", engine, s.openssl, peer.name), func(t *testing.T) {
					o := pinned
					o.cert, o.key, o.echo = cert.cert, cert.key, true
					srv := peer.server(t, o)
					r := originating(t, v, srv.addr, fmt.Sprintf("ca: %q, server_name: localhost", pki.caPath))
					got, err := plainExchange(t, "tcp", r.Addr("front"), send, len(send))
					sr := srv.wait(t)
					if err != nil || sr.err != nil || !bytes.Equal(got, send) || !bytes.Equal(sr.got, send) {
						t.Fatalf("client: err %v, %d bytes back of %d; %s server: err %v, received %d", err, len(got), len(send), peer.name, sr.err, len(sr.got))
					}
					checkSuite(t, peer.name, sr.info, s)
					waitTLSFigures(t, r, "back", tlsFigures{Secured: 1, Failed: failed()})
				})
			}
		}
	}
}

// checkSuite checks the version and suite a peer reports, where it
// reports them.
func checkSuite(t *testing.T, peer string, info tlsInfo, s tlsSuite) {
	t.Helper()
	if info.Cipher != "" && info.Cipher != s.openssl {
		t.Errorf("%s agreed %s, want %s", peer, info.Cipher, s.openssl)
	}
	if info.Version != "" && info.Version != s.version {
		t.Errorf("%s agreed TLS %s, want %s", peer, info.Version, s.version)
	}
}
