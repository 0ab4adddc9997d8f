package router

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/endpoints"
)

// selfSigned writes a self-signed certificate for localhost and its key
// (0600): a server pair, and a CA file for a client.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(30 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writeSecret(t, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), 0o644)
	keyFile = writeSecret(t, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})), 0o600)
	return certFile, keyFile
}

// TCP's and Unix's TLS field is tls:, built as its keys are and refused
// with the Go field named.
func TestTypedTLSBuildsAsItsKeys(t *testing.T) {
	cert, key := selfSigned(t)
	good := []struct {
		name  string
		typed Endpoint
		keys  map[string]any
	}{
		{"tcp-server", TCP{Listen: "127.0.0.1:0", Framing: Lines{}, TLS: &TLS{Cert: cert, Key: key, ALPN: []string{"pxroute"}, MinVersion: "1.3", MaxHandshakes: 8}},
			map[string]any{"listen": "127.0.0.1:0", "framing": "lines", "tls": map[string]any{"cert": cert, "key": key, "alpn": []string{"pxroute"}, "min_version": "1.3", "max_handshakes": int64(8)}}},
		{"tcp-mutual", TCP{Listen: "127.0.0.1:0", TLS: &TLS{Cert: cert, Key: key, ClientCA: cert, AllowNames: []string{"sensor-*.example.org"}, HandshakeTimeout: time.Second}},
			map[string]any{"listen": "127.0.0.1:0", "tls": map[string]any{"cert": cert, "key": key, "client_ca": cert, "allow_names": []string{"sensor-*.example.org"}, "handshake_timeout": time.Second}}},
		{"tcp-client", TCP{Connect: "localhost:9443", TLS: &TLS{CA: cert, ServerName: "localhost"}},
			map[string]any{"connect": "localhost:9443", "tls": map[string]any{"ca": cert, "server_name": "localhost"}}},
		{"unix-client-insecure", Unix{Connect: "@pxroute-typed-tls", TLS: &TLS{Insecure: true, ServerName: "localhost"}},
			map[string]any{"connect": "@pxroute-typed-tls", "tls": map[string]any{"insecure": true, "server_name": "localhost"}}},
	}
	for _, c := range good {
		t.Run(c.name, func(t *testing.T) {
			got, err := newTyped("e", c.typed)
			if err != nil {
				t.Fatalf("typed: %v", err)
			}
			if _, err := endpoints.New(c.typed.kind(), c.keys); err != nil {
				t.Fatalf("endpoints.New: %v", err)
			}
			if got.Settings().Secure == nil {
				t.Fatal("a TLS endpoint whose settings do not secure")
			}
			if m := settingsMap(c.typed); !reflect.DeepEqual(m, c.keys) {
				t.Errorf("settingsMap\n got %v\nwant %v", m, c.keys)
			}
		})
	}
	readable := writeSecret(t, "readable.pem", "x", 0o644)
	bad := []struct {
		name  string
		typed Endpoint
		want  string
	}{
		{"key-readable-by-others", TCP{Listen: "127.0.0.1:0", TLS: &TLS{Cert: cert, Key: readable}},
			`Endpoints["e"] (TCP).TLS.Key: `},
		{"cert-not-pem", TCP{Listen: "127.0.0.1:0", TLS: &TLS{Cert: readable, Key: key}},
			`Endpoints["e"] (TCP).TLS.Cert: `},
		{"bad-client-auth", TCP{Listen: "127.0.0.1:0", TLS: &TLS{Cert: cert, Key: key, ClientCA: cert, ClientAuth: "always"}},
			`Endpoints["e"] (TCP).TLS.ClientAuth: `},
		{"server-keys-on-a-client", TCP{Connect: "localhost:9", TLS: &TLS{ClientCA: cert}},
			`Endpoints["e"] (TCP).TLS.ClientCA: `},
		{"unix-connect-without-server-name", Unix{Connect: "@pxroute-typed-tls", TLS: &TLS{CA: cert}},
			`Endpoints["e"] (Unix).TLS`},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := newTyped("e", c.typed)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("got %v, want %s...", err, c.want)
			}
		})
	}
}
