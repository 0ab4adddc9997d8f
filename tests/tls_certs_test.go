package tests

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// keyAlgo is the key type of a test PKI: its CA and every certificate it
// issues use it, so one table case covers one family of cipher suites
// (ECDHE-ECDSA-* or ECDHE-RSA-*).
type keyAlgo string

const (
	keyECDSA keyAlgo = "ecdsa-p256"
	keyRSA   keyAlgo = "rsa-2048"
)

// testPKI is a certificate authority made at test time, written as PEM
// files under its own t.TempDir(): what the TLS tests hand to pxroute
// (ca:, client_ca:, cert:, key:) and to the peers they drive. A
// certificate from another testPKI is one signed by another CA.
type testPKI struct {
	algo   keyAlgo
	dir    string
	caPath string // the CA certificate, PEM: a ca: or client_ca: file
	pool   *x509.CertPool
	ca     *x509.Certificate
	caKey  crypto.Signer
	serial int64
}

// certSpec is one certificate to issue. A zero window is "valid from an
// hour ago for a day": the hour absorbs clock skew between the test and
// the peers it runs.
type certSpec struct {
	cn        string
	dns       []string
	ips       []net.IP
	server    bool // ExtKeyUsageServerAuth
	client    bool // ExtKeyUsageClientAuth
	notBefore time.Time
	notAfter  time.Time
}

// expired is s with a window that ended an hour ago.
func (s certSpec) expired() certSpec {
	s.notBefore, s.notAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)
	return s
}

// notYetValid is s with a window that begins in an hour.
func (s certSpec) notYetValid() certSpec {
	s.notBefore, s.notAfter = time.Now().Add(time.Hour), time.Now().Add(48*time.Hour)
	return s
}

// newTestPKI makes a CA of algo and writes it to caPath.
func newTestPKI(t *testing.T, algo keyAlgo) *testPKI {
	t.Helper()
	p := &testPKI{algo: algo, dir: t.TempDir(), pool: x509.NewCertPool()}
	p.caKey = newKey(t, algo)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pxroute test CA " + string(algo), Organization: []string{"pxroute tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, p.caKey.Public(), p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.pool.AddCert(p.ca)
	p.serial = 1
	p.caPath = filepath.Join(p.dir, "ca.pem")
	writePEM(t, p.caPath, "CERTIFICATE", der, 0o644)
	return p
}

// otherCA is a second CA of the same key type: what it issues, p's
// holders must refuse.
func (p *testPKI) otherCA(t *testing.T) *testPKI { return newTestPKI(t, p.algo) }

// serverSpec is a server certificate for names: each is a DNS name or an
// IP address; 127.0.0.1 and ::1 are always in, so a peer that checks the
// address it dialled accepts it too.
func serverSpec(names ...string) certSpec {
	s := certSpec{server: true, ips: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			s.ips = append(s.ips, ip)
		} else {
			s.dns = append(s.dns, n)
		}
	}
	if len(s.dns) > 0 {
		s.cn = s.dns[0]
	} else {
		s.cn = "127.0.0.1"
	}
	return s
}

// clientSpec is a client certificate with common name cn and DNS names
// (what allow_names matches, e.g. sensor-1.example.org).
func clientSpec(cn string, dns ...string) certSpec {
	return certSpec{cn: cn, dns: dns, client: true}
}

// server issues serverSpec(names...): its certificate and key paths.
func (p *testPKI) server(t *testing.T, names ...string) (certPath, keyPath string) {
	t.Helper()
	return p.issue(t, serverSpec(names...))
}

// client issues clientSpec(cn, dns...): its certificate and key paths.
func (p *testPKI) client(t *testing.T, cn string, dns ...string) (certPath, keyPath string) {
	t.Helper()
	return p.issue(t, clientSpec(cn, dns...))
}

// issue signs s with p's CA and writes the certificate (PEM, 0644) and its
// key (PKCS#8 PEM, 0600) under p's directory.
func (p *testPKI) issue(t *testing.T, s certSpec) (certPath, keyPath string) {
	t.Helper()
	key := newKey(t, p.algo)
	p.serial++
	nb, na := s.notBefore, s.notAfter
	if nb.IsZero() {
		nb = time.Now().Add(-time.Hour)
	}
	if na.IsZero() {
		na = time.Now().Add(24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial),
		Subject:      pkix.Name{CommonName: s.cn, Organization: []string{"pxroute tests"}},
		DNSNames:     s.dns,
		IPAddresses:  s.ips,
		NotBefore:    nb,
		NotAfter:     na,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if p.algo == keyRSA {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if s.server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if s.client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, key.Public(), p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(p.dir, fileSafe(s.cn)+"-"+big.NewInt(p.serial).String())
	certPath, keyPath = base+".crt", base+".key"
	writePEM(t, certPath, "CERTIFICATE", der, 0o644)
	writePEM(t, keyPath, "PRIVATE KEY", pkcs8, 0o600)
	return certPath, keyPath
}

func newKey(t *testing.T, algo keyAlgo) crypto.Signer {
	t.Helper()
	var k crypto.Signer
	var err error
	switch algo {
	case keyECDSA:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case keyRSA:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("unknown key algorithm %q", algo)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writePEM(t *testing.T, path, typ string, der []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		t.Fatal(err)
	}
}

// fileSafe is name with what a file name should not hold replaced.
func fileSafe(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '*' || r == ':' || r == ' ' {
			return '_'
		}
		return r
	}, name)
}
