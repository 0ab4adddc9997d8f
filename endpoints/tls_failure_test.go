package endpoints

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/pxroute/pxroute/contract"
)

// TestTLSFailureReasons: each way a handshake fails is counted under its
// reason, on whichever side found it.
func TestTLSFailureReasons(t *testing.T) {
	dir := t.TempDir()
	ca, otherCA := newTestCA(t, "test CA"), newTestCA(t, "other CA")
	writePEM(t, dir+"/ca.pem", "CERTIFICATE", ca.der, 0o644)
	good := ca.issue(t, certSpec{cn: "server-1", dns: []string{"localhost"}})
	gCert, gKey := good.writeFiles(t, dir, "good")
	expired := ca.issue(t, certSpec{cn: "old", dns: []string{"localhost"}, notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-24 * time.Hour)})
	notYet := ca.issue(t, certSpec{cn: "new", dns: []string{"localhost"}, notBefore: time.Now().Add(24 * time.Hour), notAfter: time.Now().Add(48 * time.Hour)})
	stranger := otherCA.issue(t, certSpec{cn: "stranger", dns: []string{"localhost"}})
	wrongName := ca.issue(t, certSpec{cn: "elsewhere", dns: []string{"elsewhere.example.org"}})
	sensor := ca.issue(t, certSpec{cn: "sensor-1", dns: []string{"sensor-1.example.org"}, client: true})
	intruder := ca.issue(t, certSpec{cn: "x", dns: []string{"sensor-1.evil.example.org"}, client: true})

	mtls := map[string]any{"cert": gCert, "key": gKey, "client_ca": dir + "/ca.pem", "allow_names": []string{"sensor-*.example.org"}}
	client := map[string]any{"ca": dir + "/ca.pem"}
	serverOf := func(c *testCert) *tls.Config { return &tls.Config{Certificates: []tls.Certificate{c.tlsCert()}} }
	clientOf := func(c *testCert) *tls.Config {
		cfg := &tls.Config{RootCAs: ca.pool(), ServerName: "localhost"}
		if c != nil {
			cfg.Certificates = []tls.Certificate{c.tlsCert()}
		}
		return cfg
	}
	for _, tc := range []struct {
		name   string
		server bool // this side is the server
		keys   map[string]any
		peer   *tls.Config
		raw    []byte // written instead of a crypto/tls peer
		want   contract.SecureReason
	}{
		{"client-refuses-expired-server", false, client, serverOf(expired), nil, contract.SecureBadCertificate},
		{"client-refuses-not-yet-valid-server", false, client, serverOf(notYet), nil, contract.SecureBadCertificate},
		{"client-refuses-unknown-ca", false, client, serverOf(stranger), nil, contract.SecureUnknownCA},
		{"client-refuses-wrong-hostname", false, client, serverOf(wrongName), nil, contract.SecureBadCertificate},
		{"client-min-1.3-server-max-1.2", false, map[string]any{"ca": dir + "/ca.pem", "min_version": "1.3"},
			&tls.Config{Certificates: []tls.Certificate{good.tlsCert()}, MaxVersion: tls.VersionTLS12}, nil, contract.SecureProtocolVersion},
		{"server-admits-allowed-name", true, mtls, clientOf(sensor), nil, contract.SecureReasons},
		{"server-refuses-name-not-allowed", true, mtls, clientOf(intruder), nil, contract.SecureNameNotAllowed},
		{"server-refuses-no-client-cert", true, mtls, clientOf(nil), nil, contract.SecureNoCertificate},
		{"server-refuses-unknown-ca-client", true, mtls, func() *tls.Config {
			c := clientOf(nil)
			cert := otherCA.issue(t, certSpec{cn: "sensor-2", dns: []string{"sensor-2.example.org"}, client: true}).tlsCert()
			// sent although the server asks for other CAs (Certificates would not be)
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
			return c
		}(), nil, contract.SecureUnknownCA},
		{"server-refuses-old-client-version", true, map[string]any{"cert": gCert, "key": gKey, "min_version": "1.3"},
			func() *tls.Config { c := clientOf(nil); c.MaxVersion = tls.VersionTLS12; return c }(), nil, contract.SecureProtocolVersion},
		{"server-refuses-sslv2-hello", true, map[string]any{"cert": gCert, "key": gKey}, nil,
			[]byte{0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10}, contract.SecureProtocolVersion},
		{"server-refuses-sslv3-hello", true, map[string]any{"cert": gCert, "key": gKey}, nil, sslv3Hello(), contract.SecureProtocolVersion},
		{"server-refuses-garbage", true, map[string]any{"cert": gCert, "key": gKey}, nil, []byte("GET / HTTP/1.1\r\n\r\n"), contract.SecureHandshake},
	} {
		t.Run(tc.name, func(t *testing.T) {
			role, host := contract.RoleConnect, "localhost"
			if tc.server {
				role, host = contract.RoleListen, ""
			}
			e := testTLS(t, role, host, tc.keys)
			fd, peer := loopbackPair(t)
			ch, _ := secure(t, e, fd)
			go runPeer(peer, tc.server, tc.peer, tc.raw)
			r := waitResult(t, ch, 5*time.Second)
			if tc.want == contract.SecureReasons {
				if r.err != nil {
					t.Fatalf("handshake failed: %v", r.err)
				}
				return
			}
			if r.err == nil {
				t.Fatalf("handshake succeeded; want %v", tc.want)
			}
			if got := contract.SecureReasonOf(r.err); got != tc.want {
				t.Fatalf("reason %v (%v); want %v", got, r.err, tc.want)
			}
		})
	}
}

// runPeer plays the other side: crypto/tls with cfg, or raw bytes.
func runPeer(c net.Conn, weAreServer bool, cfg *tls.Config, raw []byte) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if raw != nil {
		c.Write(raw)
		buf := make([]byte, 512)
		c.Read(buf)
		return
	}
	var tc *tls.Conn
	if weAreServer {
		tc = tls.Client(c, cfg)
	} else {
		tc = tls.Server(c, cfg)
	}
	if tc.Handshake() == nil {
		tc.Read(make([]byte, 1)) // a 1.3 server learns of a refused client cert here
	}
}

// sslv3Hello is a ClientHello that offers SSL 3.0 only.
func sslv3Hello() []byte {
	body := []byte{1, 0, 0, 0, 3, 0}
	body = append(body, make([]byte, 32)...) // random
	body = append(body, 0, 0, 2, 0x00, 0x2f, 1, 0)
	n := len(body) - 4
	body[1], body[2], body[3] = byte(n>>16), byte(n>>8), byte(n)
	return append([]byte{22, 3, 0, byte(len(body) >> 8), byte(len(body))}, body...)
}
