package tests

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 21: who pxroute's TLS lets in, end to end against real peers.

// tlsAuthPeers are the client peers the authentication tables run: each
// presents client certificates through its own TLS stack's API (ncat and
// socat hand theirs to OpenSSL as s_client does, and TestTLSInterop runs
// them).
var tlsAuthPeers = []string{"openssl", "python", "go"}

func tlsPeerNamed(t *testing.T, name string) tlsPeer {
	t.Helper()
	for _, p := range tlsPeers {
		if p.name == name {
			return p
		}
	}
	t.Fatalf("no TLS peer %s", name)
	return tlsPeer{}
}

// TestTLSMutualAuth runs pxroute terminating TLS with client_ca: each
// client presents (or not) a certificate, and is let through, its bytes
// echoed byte-exact, or refused before anything reaches the backend,
// counted by reason: no_certificate, unknown_ca, name_not_allowed.
// client_auth: request admits a client without a certificate.
func TestTLSMutualAuth(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	goodCert, goodKey := pki.client(t, "sensor-1", "sensor-1.example.org")
	strangerCert, strangerKey := pki.otherCA(t).client(t, "sensor-2", "sensor-2.example.org")
	intruderCert, intruderKey := pki.client(t, "intruder", "intruder.example.org")
	require := fmt.Sprintf(", client_ca: %q, client_auth: require, allow_names: [\"sensor-*.example.org\"]", pki.caPath)
	request := fmt.Sprintf(", client_ca: %q, client_auth: request, allow_names: [\"sensor-*.example.org\"]", pki.caPath)
	send := tlsInteropPayload(8 << 10)
	cases := []struct {
		name      string
		extra     string // the listener's tls keys beyond cert and key
		cert, key string // the client's certificate; "" none
		refused   string // the reason counted; "" admitted
	}{
		{"require/good-certificate-admitted", require, goodCert, goodKey, ""},
		{"require/no-certificate-refused", require, "", "", "no_certificate"},
		{"require/another-ca-refused", require, strangerCert, strangerKey, "unknown_ca"},
		{"require/name-not-allowed-refused", require, intruderCert, intruderKey, "name_not_allowed"},
		{"request/no-certificate-admitted", request, "", "", ""},
		{"request/good-certificate-admitted", request, goodCert, goodKey, ""},
		{"request/name-not-allowed-refused", request, intruderCert, intruderKey, "name_not_allowed"},
	}
	for _, v := range variants() {
		for _, c := range cases {
			for _, name := range tlsAuthPeers {
				peer := tlsPeerNamed(t, name)
				for _, ver := range []string{"1.2", "1.3"} {
					t.Run(fmt.Sprintf("%s/%s/%s/tls%s", v, c.name, name, ver), func(t *testing.T) {
						r := terminating(t, v, cert, key, c.extra)
						o := tlsOptions{version: ver, ca: pki.caPath, serverName: "localhost", cert: c.cert, key: c.key}
						res := peer.client(t, r.Addr("front"), o, send, len(send))
						if c.refused == "" {
							if res.err != nil || !bytes.Equal(res.got, send) {
								t.Fatalf("err %v; got %d bytes back of %d", res.err, len(res.got), len(send))
							}
							waitTLSFigures(t, r, "front", cleanClose(peer))
							return
						}
						if len(res.got) != 0 {
							t.Fatalf("refused, yet %d bytes came back (err %v)", len(res.got), res.err)
						}
						waitTLSFigures(t, r, "front", tlsFigures{Failed: failed(c.refused, 1), Errors: 1})
						if back := endpoint(r.Stats(), "back"); back.Opened != 0 {
							t.Fatalf("the backend was dialled %d times for a refused client", back.Opened)
						}
					})
				}
			}
		}
	}
}

// TestTLSClientCertificate runs pxroute originating TLS with cert and
// key to servers that require a client certificate signed by their CA:
// the server sees pxroute's (common name sensor-1, where it reports it)
// and the bytes echo byte-exact.
func TestTLSClientCertificate(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	cliCert, cliKey := pki.client(t, "sensor-1", "sensor-1.example.org")
	send := tlsInteropPayload(8 << 10)
	for _, v := range variants() {
		for _, peer := range tlsPeers {
			if peer.cannot.clientAuth {
				continue
			}
			for _, ver := range []string{"1.2", "1.3"} {
				t.Run(fmt.Sprintf("%s/%s-requires-a-client-certificate/tls%s", v, peer.name, ver), func(t *testing.T) {
					srv := peer.server(t, tlsOptions{version: ver, cert: cert, key: key, ca: pki.caPath, clientAuth: true, echo: true})
					r := originating(t, v, srv.addr, fmt.Sprintf("ca: %q, server_name: localhost, cert: %q, key: %q", pki.caPath, cliCert, cliKey))
					s := originatingEcho(t, r, srv, send)
					if s.info.Version != "" && s.info.PeerCN != "sensor-1" {
						t.Errorf("the %s server saw client certificate %q, want sensor-1", peer.name, s.info.PeerCN)
					}
				})
			}
		}
	}
}

// TestTLSServerCertificateRefused runs pxroute originating TLS to servers
// whose certificate it must refuse: expired, not yet valid, for another
// name than server_name, signed by a CA it does not trust. The plain
// client is closed with nothing; the server receives nothing; back counts
// the reason. With insecure: true the same servers are reached (and
// insecure was warned of).
func TestTLSServerCertificateRefused(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	expiredCert, expiredKey := pki.issue(t, serverSpec("localhost").expired())
	notYetCert, notYetKey := pki.issue(t, serverSpec("localhost").notYetValid())
	otherNameCert, otherNameKey := pki.issue(t, certSpec{cn: "other.example.org", dns: []string{"other.example.org"}, server: true})
	strangerCert, strangerKey := pki.otherCA(t).server(t, "localhost")
	send := tlsInteropPayload(4 << 10)
	cases := []struct {
		name, cert, key, reason string
	}{
		{"expired", expiredCert, expiredKey, "bad_certificate"},
		{"not-yet-valid", notYetCert, notYetKey, "bad_certificate"},
		{"another-name", otherNameCert, otherNameKey, "bad_certificate"},
		{"another-ca", strangerCert, strangerKey, "unknown_ca"},
	}
	for _, v := range variants() {
		for _, c := range cases {
			for _, name := range []string{"openssl", "go"} {
				peer := tlsPeerNamed(t, name)
				t.Run(fmt.Sprintf("%s/%s/%s-server-refused", v, c.name, name), func(t *testing.T) {
					srv := peer.server(t, tlsOptions{cert: c.cert, key: c.key, echo: true})
					r := originating(t, v, srv.addr, fmt.Sprintf("ca: %q, server_name: localhost", pki.caPath))
					got, _ := plainExchange(t, "tcp", r.Addr("front"), send, len(send))
					s := srv.wait(t)
					if len(got) != 0 || len(s.got) != 0 {
						t.Fatalf("refused, yet the server received %d bytes and the client got %d back", len(s.got), len(got))
					}
					waitTLSFigures(t, r, "back", tlsFigures{Failed: failed(c.reason, 1), Errors: 1})
				})
				t.Run(fmt.Sprintf("%s/%s/%s-server-reached-when-insecure", v, c.name, name), func(t *testing.T) {
					srv := peer.server(t, tlsOptions{cert: c.cert, key: c.key, echo: true})
					r := originating(t, v, srv.addr, "insecure: true")
					if w := strings.Join(r.Warnings(), "\n"); !strings.Contains(w, "endpoint back: tls: insecure: true: the server's certificate is not verified") {
						t.Errorf("no warning of insecure: true, only %q", w)
					}
					originatingEcho(t, r, srv, send)
				})
			}
		}
	}
}

// TestTLSExpiredServerCertificate loads a listener whose certificate has
// expired: `pxroute check` warns of it at the endpoint (and passes), the
// router starts, and every client that verifies refuses it, counted as
// bad_certificate on the listener from the client's alert, TLS 1.2 and
// 1.3 alike (OpenSSL's TLS 1.3 alert comes in the clear: see
// tlsRecordConn.plainAlert).
func TestTLSExpiredServerCertificate(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.issue(t, serverSpec("localhost").expired())
	file := filepath.Join(t.TempDir(), "expired.yaml")
	yaml := fmt.Sprintf(`endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: raw, tls: {cert: %q, key: %q}}
  back:  {kind: tcp, connect: "127.0.0.1:9", framing: raw}
routes:
  - {pattern: bridge, from: front, to: back}
`, cert, key)
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, nil, "check", file)
	want := file + ":2:3: warning: endpoint front: certificate " + cert + " expired on "
	if code != 0 || !strings.Contains(errOut, want) {
		t.Fatalf("check: exit %d\n%s%s\nwant a line starting\n%s", code, out, errOut, want)
	}
	for _, v := range variants() {
		for _, name := range tlsAuthPeers {
			peer := tlsPeerNamed(t, name)
			for _, ver := range []string{"1.2", "1.3"} {
				t.Run(fmt.Sprintf("%s/%s-refuses/tls%s", v, name, ver), func(t *testing.T) {
					r := terminating(t, v, cert, key, "")
					res := peer.client(t, r.Addr("front"), tlsOptions{version: ver, ca: pki.caPath, serverName: "localhost"}, []byte("secret\n"), 7)
					if res.err == nil || len(res.got) != 0 {
						t.Fatalf("the client accepted an expired certificate: got %q, err %v", res.got, res.err)
					}
					waitTLSFigures(t, r, "front", tlsFigures{Failed: failed("bad_certificate", 1), Errors: 1})
				})
			}
		}
	}
}
