package topology

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"testing"
	"time"
)

// writeTLSFiles writes into the working directory: s.crt/s.key (valid),
// old.crt/old.key (expired), other.key (another key), open.key (0644),
// ca.pem, junk.pem (no PEM).
func writeTLSFiles(t *testing.T) {
	t.Helper()
	mk := func(name string, notAfter time.Time) *ecdsa.PrivateKey {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: notAfter, DNSNames: []string{"localhost"},
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalPKCS8PrivateKey(key)
		os.WriteFile(name+".crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
		os.WriteFile(name+".key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
		return key
	}
	mk("s", time.Now().Add(24*time.Hour))
	mk("old", time.Now().Add(-24*time.Hour))
	mk("other", time.Now().Add(24*time.Hour))
	b, _ := os.ReadFile("s.key")
	os.WriteFile("open.key", b, 0o644)
	b, _ = os.ReadFile("s.crt")
	os.WriteFile("ca.pem", b, 0o644)
	os.WriteFile("junk.pem", []byte("not a certificate\n"), 0o644)
}

// tls: keys, each mistake an error at its key: FILE:LINE:COL: message.
var tlsErrors = []struct {
	name string
	yaml string
	want []string
}{
	{"files", `
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", tls: {cert: missing.crt, key: s.key}}
  b: {kind: tcp, listen: "127.0.0.1:0", tls: {cert: junk.pem, key: s.key}}
  c: {kind: tcp, listen: "127.0.0.1:0", tls: {cert: s.crt, key: other.key}}
  d: {kind: tcp, listen: "127.0.0.1:0", tls: {cert: s.crt, key: open.key}}
  e: {kind: tcp, listen: "127.0.0.1:0", tls: {cert: s.crt, key: s.key, client_ca: junk.pem}}
  f: {kind: tcp, connect: "localhost:9", tls: {ca: missing.pem}}
  ok: {kind: tcp, listen: "127.0.0.1:0", tls: {cert: old.crt, key: old.key}}
routes:
  - {pattern: merge, from: [a, b, c, d, e, f], to: ok}
`, []string{
		`t.yaml:3:53: cert: open missing.crt: no such file or directory`,
		`t.yaml:4:53: cert: junk.pem holds no PEM CERTIFICATE`,
		`t.yaml:5:65: key: s.crt and other.key: tls: private key does not match public key`,
		`t.yaml:6:65: key: open.key is -rw-r--r--`,
		`t.yaml:7:83: client_ca: junk.pem holds no PEM CERTIFICATE`,
		`t.yaml:8:52: ca: open missing.pem: no such file or directory`,
	}},
	{"keys", `
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", tls: {cert: s.crt, key: s.key, client_auth: always}}
  b: {kind: tcp, listen: "127.0.0.1:0", tls: {cert: s.crt, key: s.key, allow_names: ["x.example.org"]}}
  c: {kind: tcp, connect: "localhost:9", tls: {ca: ca.pem, client_ca: ca.pem}}
  d: {kind: tcp, listen: "127.0.0.1:0", tls: {cert: s.crt, key: s.key, insecure: true}}
  e: {kind: tcp, listen: "127.0.0.1:0", tls: {key: s.key}}
  f: {kind: tcp, listen: "127.0.0.1:0", tls: {cert: s.crt, key: s.key, min_version: "1.1", max_handshakes: 0}}
  g: {kind: tcp, listen: "127.0.0.1:0", tls: {cert: s.crt, key: s.key, handshake_timeout: 0s, ciphers: all}}
  h: {kind: udp, listen: "127.0.0.1:0", tls: {cert: s.crt, key: s.key}}
  i: {kind: unix, listen: "@pxroute-tls-t", type: datagram, tls: {cert: s.crt, key: s.key}}
  j: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, tls: {cert: s.crt, key: s.key}}
  k: {kind: unix, connect: "/tmp/pxroute-tls-t.sock", tls: {ca: ca.pem}}
  l: {kind: tcp, listen: "127.0.0.1:0", tls: {cert: s.crt, key: s.key, kernel_tls: always}}
  ok: {kind: tcp, connect: "127.0.0.1:9", tls: {ca: ca.pem, server_name: localhost, alpn: [pxroute], min_version: "1.3", max_handshakes: 16, handshake_timeout: 2s, kernel_tls: off}}
routes:
  - {pattern: merge, from: [a, b, c, d, e, f, g, h, i, j, k, l], to: ok}
`, []string{
		`t.yaml:3:85: client_auth "always": want none, request or require`,
		`t.yaml:4:85: allow_names filters client certificates: it needs client_ca`,
		`t.yaml:5:71: client_ca is for a tls server (listen:)`,
		`t.yaml:6:82: insecure is for a tls client (connect:)`,
		`t.yaml:7:46: cert and key go together`,
		`t.yaml:7:46: tls: a listener needs cert and key`,
		`t.yaml:8:85: min_version "1.1": want "1.2" or "1.3"`,
		`t.yaml:8:108: max_handshakes must be between 1 and 4096`,
		`t.yaml:9:91: handshake_timeout must be between 1ms and 1h`,
		`t.yaml:9:95: unknown key "ciphers"`,
		`t.yaml:10:46: tls applies to tcp and unix stream endpoints`,
		`t.yaml:11:66: tls applies to tcp and unix stream endpoints`,
		`t.yaml:12:75: ZeroMQ has no TLS: use curve:`,
		`t.yaml:13:60: tls: give server_name`,
		`t.yaml:14:84: kernel_tls "always": want "auto"`,
	}},
}

func TestTLSTopologyErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	writeTLSFiles(t)
	for _, tc := range tlsErrors {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("t.yaml", []byte(tc.yaml))
			wantErrors(t, err, tc.want)
		})
	}
}
