package tests

import (
	"bytes"
	"fmt"
	"testing"
)

// TestTLSPeerSelfTest runs every TLS peer driver, as a client and as a
// server, against Go's crypto/tls on loopback, in TLS 1.2 and 1.3: bytes
// arrive byte-exact both ways, the version is the one asked, the suite the
// one pinned, and ALPN, SNI and the client certificate reach the other
// side wherever the tool can offer them.
func TestTLSPeerSelfTest(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	srvCert, srvKey := pki.server(t, "backend.example.org")
	cliCert, cliKey := pki.client(t, "sensor-1", "sensor-1.example.org")
	payload := tlsSelfTestPayload()
	suite := map[string]string{"1.2": "ECDHE-ECDSA-CHACHA20-POLY1305", "1.3": "TLS_CHACHA20_POLY1305_SHA256"}
	for _, peer := range tlsPeers {
		for _, ver := range []string{"1.2", "1.3"} {
			t.Run(peer.name+"/client/tls"+ver, func(t *testing.T) {
				cli := tlsOptions{version: ver, ca: pki.caPath, serverName: "backend.example.org", cert: cliCert, key: cliKey, ciphers: []string{suite[ver]}}
				if !peer.cannot.clientALPN {
					cli.alpn = []string{"pxroute"}
				}
				if peer.cannot.suites13 && ver == "1.3" {
					cli.ciphers = nil
				}
				srv := goTLSServer(t, tlsOptions{cert: srvCert, key: srvKey, ca: pki.caPath, clientAuth: true, alpn: []string{"pxroute"}, echo: true})
				r := peer.client(t, srv.addr, cli, payload, len(payload))
				s := srv.wait(t)
				if r.err != nil || s.err != nil {
					t.Fatalf("client: %v; Go server: %v", r.err, s.err)
				}
				checkSelfTest(t, payload, r.got, s.got, s.info, ver, cli)
				if s.info.PeerCN != "sensor-1" {
					t.Errorf("the Go server saw client certificate %q, want sensor-1", s.info.PeerCN)
				}
				if s.info.SNI != "backend.example.org" {
					t.Errorf("the Go server saw SNI %q", s.info.SNI)
				}
				if r.info.Version != "" && r.info.Version != ver {
					t.Errorf("the client says it negotiated %q", r.info.Version)
				}
			})
			t.Run(peer.name+"/server/tls"+ver, func(t *testing.T) {
				srvOpts := tlsOptions{version: ver, cert: srvCert, key: srvKey, ca: pki.caPath, clientAuth: !peer.cannot.clientAuth, echo: true, ciphers: []string{suite[ver]}}
				if !peer.cannot.serverALPN {
					srvOpts.alpn = []string{"pxroute"}
				}
				if peer.cannot.suites13 && ver == "1.3" {
					srvOpts.ciphers = nil
				}
				srv := peer.server(t, srvOpts)
				cli := tlsOptions{ca: pki.caPath, serverName: "backend.example.org", cert: cliCert, key: cliKey, alpn: srvOpts.alpn}
				r := goTLSClient(t, srv.addr, cli, payload, len(payload))
				s := srv.wait(t)
				if r.err != nil || s.err != nil {
					t.Fatalf("Go client: %v; server: %v", r.err, s.err)
				}
				checkSelfTest(t, payload, r.got, s.got, r.info, ver, srvOpts)
				if s.info.PeerCN != "" && s.info.PeerCN != "sensor-1" {
					t.Errorf("the server saw client certificate %q", s.info.PeerCN)
				}
			})
		}
	}
}

// checkSelfTest checks one echo run as the Go side saw it (goSide).
func checkSelfTest(t *testing.T, payload, clientGot, serverGot []byte, goSide tlsInfo, ver string, o tlsOptions) {
	t.Helper()
	if !bytes.Equal(serverGot, payload) {
		t.Errorf("the server received %d bytes, want the %d sent", len(serverGot), len(payload))
	}
	if !bytes.Equal(clientGot, payload) {
		t.Errorf("the client got back %d bytes, want the %d sent", len(clientGot), len(payload))
	}
	if goSide.Version != ver {
		t.Errorf("negotiated TLS %q, want %s", goSide.Version, ver)
	}
	if len(o.ciphers) > 0 && goSide.Cipher != o.ciphers[0] {
		t.Errorf("negotiated %s, want %s", goSide.Cipher, o.ciphers[0])
	}
	if len(o.alpn) > 0 && goSide.ALPN != o.alpn[0] {
		t.Errorf("ALPN %q, want %q", goSide.ALPN, o.alpn[0])
	}
}

// TestTLSPeerSelfTestRefusals shows each client driver reports a refused
// handshake as an error rather than an empty success: a server whose
// certificate another CA signed, has expired, is not valid yet, or names
// another host (and no IP address) than the server name asked for.
func TestTLSPeerSelfTestRefusals(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	strangerCert, strangerKey := pki.otherCA(t).server(t, "backend.example.org")
	expiredCert, expiredKey := pki.issue(t, serverSpec("backend.example.org").expired())
	notYetCert, notYetKey := pki.issue(t, serverSpec("backend.example.org").notYetValid())
	otherNameCert, otherNameKey := pki.issue(t, certSpec{cn: "other.example.org", dns: []string{"other.example.org"}, server: true})
	for _, peer := range tlsPeers {
		for _, c := range []struct{ name, cert, key string }{
			{"another-ca", strangerCert, strangerKey},
			{"expired", expiredCert, expiredKey},
			{"not-yet-valid", notYetCert, notYetKey},
			{"another-name", otherNameCert, otherNameKey},
		} {
			t.Run(peer.name+"/refuses-"+c.name, func(t *testing.T) {
				srv := goTLSServer(t, tlsOptions{cert: c.cert, key: c.key, echo: true})
				r := peer.client(t, srv.addr, tlsOptions{ca: pki.caPath, serverName: "backend.example.org"}, []byte("secret\n"), 7)
				srv.wait(t)
				if r.err == nil || len(r.got) != 0 {
					t.Fatalf("the client accepted the server: got %q, err %v", r.got, r.err)
				}
			})
		}
	}
}

// tlsSelfTestPayload is lines that would trip a peer that is not
// byte-exact: s_client's and s_server's command letters (Q, R, k) at a
// line's start, CR, NUL and bytes above 0x7f; large enough (~1 MiB) that
// an echo runs both ways at once, past the socket buffers.
func tlsSelfTestPayload() []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 1<<20; i++ {
		fmt.Fprintf(&b, "%c line %d\r\x00\xff %s\n", "QRkK"[i%4], i, bytes.Repeat([]byte{'a' + byte(i%26)}, i%200))
	}
	return b.Bytes()
}

// TestTLSPeerSelfTestSuites pins each client driver to each suite of
// tlsSuites in turn, against a Go server with a certificate of the key
// type the suite needs: what "every suite offered" in the interop table
// stands on.
func TestTLSPeerSelfTestSuites(t *testing.T) {
	pkis := map[keyAlgo]*testPKI{keyECDSA: newTestPKI(t, keyECDSA), keyRSA: newTestPKI(t, keyRSA)}
	type pair struct{ cert, key string }
	servers := map[keyAlgo]pair{}
	for algo, pki := range pkis {
		c, k := pki.server(t, "backend.example.org")
		servers[algo] = pair{c, k}
	}
	send := tlsLines(3)
	for _, s := range tlsSuites {
		algo := s.key
		if algo == "" {
			algo = keyRSA // the TLS 1.3 suites over the RSA certificate; the self-test covers ECDSA
		}
		for _, peer := range tlsPeers {
			if peer.cannot.suites13 && s.version == "1.3" {
				continue
			}
			t.Run(s.openssl+"/"+peer.name, func(t *testing.T) {
				srv := goTLSServer(t, tlsOptions{cert: servers[algo].cert, key: servers[algo].key, echo: true})
				r := peer.client(t, srv.addr, tlsOptions{version: s.version, ciphers: []string{s.openssl}, ca: pkis[algo].caPath, serverName: "backend.example.org"}, send, len(send))
				got := srv.wait(t)
				if r.err != nil || got.err != nil {
					t.Fatalf("client: %v; Go server: %v", r.err, got.err)
				}
				if got.info.Cipher != s.openssl || got.info.Version != s.version || !bytes.Equal(r.got, send) {
					t.Fatalf("negotiated %s over TLS %s and echoed %q; want %s over TLS %s and %q", got.info.Cipher, got.info.Version, r.got, s.openssl, s.version, send)
				}
			})
		}
	}
}
