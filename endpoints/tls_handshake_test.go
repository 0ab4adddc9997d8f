package endpoints

import (
	"bytes"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pxroute/pxroute/contract"
)

// holdConn is a peer's conn that can hold its writes and send them as
// one: a client's Finished and its first application record then reach
// the socket together, as a fast client's do.
type holdConn struct {
	net.Conn
	mu   sync.Mutex
	hold bool
	buf  []byte
}

func (c *holdConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hold {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *holdConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hold = false
	_, err := c.Conn.Write(c.buf)
	return err
}

// TestTLSHandshakeSecrets: both roles, TLS 1.2 and 1.3, ECDSA and RSA
// certificates: the handshake succeeds, and the Secrets are what the
// crypto/tls peer's own key log holds (and, in 1.2, both randoms); a
// 1.3 client's first record written with its Finished is in Leftover.
func TestTLSHandshakeSecrets(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "test CA")
	for _, tc := range []struct {
		name    string
		server  bool // this side is the server
		version uint16
		rsa     bool
	}{
		{"server-tls13-ecdsa", true, tls.VersionTLS13, false},
		{"server-tls12-ecdsa", true, tls.VersionTLS12, false},
		{"server-tls12-rsa", true, tls.VersionTLS12, true},
		{"server-tls13-rsa", true, tls.VersionTLS13, true},
		{"client-tls13-ecdsa", false, tls.VersionTLS13, false},
		{"client-tls12-rsa", false, tls.VersionTLS12, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaf := ca.issue(t, certSpec{cn: "server-1", dns: []string{"localhost"}, rsa: tc.rsa})
			certFile, keyFile := leaf.writeFiles(t, dir, tc.name)
			caFile := dir + "/" + tc.name + "-ca.pem"
			writePEM(t, caFile, "CERTIFICATE", ca.der, 0o644)
			fd, peer := loopbackPair(t)
			kl := &keyLog{}
			hc := &holdConn{Conn: peer}
			var e *tlsEndpoint
			var peerTLS *tls.Conn
			if tc.server {
				e = testTLS(t, contract.RoleListen, "", map[string]any{"cert": certFile, "key": keyFile, "alpn": []string{"pxroute"}})
				peerTLS = tls.Client(hc, &tls.Config{
					RootCAs: ca.pool(), ServerName: "localhost", MaxVersion: tc.version, KeyLogWriter: kl, NextProtos: []string{"pxroute"},
					VerifyConnection: func(tls.ConnectionState) error {
						hc.mu.Lock()
						hc.hold = tc.version == tls.VersionTLS13 // Finished and the first record go as one
						hc.mu.Unlock()
						return nil
					},
				})
			} else {
				e = testTLS(t, contract.RoleConnect, "localhost", map[string]any{"ca": caFile, "alpn": []string{"pxroute"}})
				c := leaf.tlsCert()
				peerTLS = tls.Server(hc, &tls.Config{Certificates: []tls.Certificate{c}, MaxVersion: tc.version, KeyLogWriter: kl, NextProtos: []string{"pxroute"}})
			}
			ch, _ := secure(t, e, fd)
			peerErr := make(chan error, 1)
			go func() {
				err := peerTLS.Handshake()
				if err == nil && tc.server {
					_, err = peerTLS.Write([]byte("first words"))
					if err == nil && tc.version == tls.VersionTLS13 {
						err = hc.flush()
					}
				}
				peerErr <- err
			}()
			r := waitResult(t, ch, 5*time.Second)
			if r.err != nil {
				t.Fatalf("handshake: %v", r.err)
			}
			if err := <-peerErr; err != nil {
				t.Fatalf("peer: %v", err)
			}
			ft := r.t.(*fakeTransport)
			s := ft.secrets
			if s.Version != tc.version || s.IsClient == tc.server || s.Suite != peerTLS.ConnectionState().CipherSuite {
				t.Errorf("secrets version %x client %v suite %x; want %x %v %x", s.Version, s.IsClient, s.Suite, tc.version, !tc.server, peerTLS.ConnectionState().CipherSuite)
			}
			kl.mu.Lock()
			defer kl.mu.Unlock()
			switch tc.version {
			case tls.VersionTLS13:
				if !bytes.Equal(s.ClientTrafficSecret, kl.lines["CLIENT_TRAFFIC_SECRET_0"]) || !bytes.Equal(s.ServerTrafficSecret, kl.lines["SERVER_TRAFFIC_SECRET_0"]) || len(s.ClientTrafficSecret) == 0 {
					t.Errorf("1.3 traffic secrets differ from the peer's key log")
				}
				if s.ReadSeq != 0 || s.WriteSeq != 0 {
					t.Errorf("seq %d/%d, want 0/0", s.ReadSeq, s.WriteSeq)
				}
			case tls.VersionTLS12:
				if !bytes.Equal(s.MasterSecret, kl.lines["CLIENT_RANDOM"]) || len(s.MasterSecret) != 48 {
					t.Errorf("master secret differs from the peer's key log")
				}
				if !bytes.Equal(s.ClientRandom, kl.rand) || len(s.ServerRandom) != 32 || bytes.Equal(s.ServerRandom, s.ClientRandom) {
					t.Errorf("randoms: client %x (peer logged %x) server %x", s.ClientRandom, kl.rand, s.ServerRandom)
				}
				if s.ReadSeq != 1 || s.WriteSeq != 1 {
					t.Errorf("seq %d/%d, want 1/1", s.ReadSeq, s.WriteSeq)
				}
			}
			if want := "alpn=pxroute"; !strings.Contains(ft.described, want) || !strings.HasPrefix(ft.described, tls.VersionName(tc.version)) {
				t.Errorf("described %q", ft.described)
			}
			if tc.server && tc.version == tls.VersionTLS13 {
				if len(ft.leftover) < 5 || ft.leftover[0] != 23 {
					t.Fatalf("leftover %x: want the client's first application record", ft.leftover)
				}
				checkTLS13Record(t, s.ClientTrafficSecret, s.Suite, s.ReadSeq, ft.leftover, "first words")
				sendTLS13Record(t, fd, s.ServerTrafficSecret, s.Suite, s.WriteSeq, "reply")
				buf := make([]byte, 64)
				peerTLS.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, err := peerTLS.Read(buf)
				if err != nil || string(buf[:n]) != "reply" {
					t.Errorf("peer read %q, %v: want the record sealed at WriteSeq", buf[:n], err)
				}
			}
		})
	}
}

// TestTLSSuiteName: the names kept are crypto/tls's, for every suite it
// knows and one it does not.
func TestTLSSuiteName(t *testing.T) {
	ids := []uint16{0x1301, 0xc02b, 0x000a, 0xfefe}
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		ids = append(ids, s.ID)
	}
	for _, id := range ids {
		if got, want := tlsSuiteName(id), tls.CipherSuiteName(id); got != want {
			t.Errorf("suite %#04x: %q, want %q", id, got, want)
		}
	}
}
