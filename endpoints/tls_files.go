package endpoints

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

// tlsCertHolder holds an endpoint's certificate behind an atomic pointer:
// handshakes read it through GetCertificate / GetClientCertificate, so a
// reload can Swap in a new one without touching a running handshake.
type tlsCertHolder struct {
	cert atomic.Pointer[tls.Certificate]
}

// Swap installs c for the handshakes that start from now on.
func (h *tlsCertHolder) Swap(c *tls.Certificate) { h.cert.Store(c) }

func (h *tlsCertHolder) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return h.cert.Load(), nil
}

func (h *tlsCertHolder) getClient(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	if c := h.cert.Load(); c != nil {
		return c, nil
	}
	return &tls.Certificate{}, nil // none: the server decides whether that will do
}

// ExpiryWarning is how close to its expiry a certificate gets a warning
// at check, start and reload: two weeks leaves time to renew it.
const ExpiryWarning = 14 * 24 * time.Hour

// expiry is when the holder's certificate expires; zero without one.
func (h *tlsCertHolder) expiry() time.Time {
	if c := h.cert.Load(); c != nil && c.Leaf != nil {
		return c.Leaf.NotAfter
	}
	return time.Time{}
}

// loadKeyPair reads cert (PEM chain) and key (PEM, not readable by group
// or others), checks that they match, and says in warning when the leaf
// is expired or not yet valid (loaded anyway: its peers will refuse it,
// and a reload may bring a fresh one before they connect).
func loadKeyPair(certFile, keyFile string, now time.Time) (c *tls.Certificate, warning string, err error, errKey string) {
	certPEM, err := readPEMFile(certFile, "CERTIFICATE")
	if err != nil {
		return nil, "", err, "cert"
	}
	if err := checkSecretFile(keyFile); err != nil {
		return nil, "", err, "key"
	}
	keyPEM, err := readPEMFile(keyFile, "")
	if err != nil {
		return nil, "", err, "key"
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, "", fmt.Errorf("%s and %s: %v", certFile, keyFile, err), "key"
	}
	leaf := pair.Leaf
	switch {
	case now.After(leaf.NotAfter):
		warning = fmt.Sprintf("certificate %s expired on %s", certFile, leaf.NotAfter.UTC().Format(time.DateOnly))
	case now.Before(leaf.NotBefore):
		warning = fmt.Sprintf("certificate %s is not valid before %s", certFile, leaf.NotBefore.UTC().Format(time.DateTime))
	case leaf.NotAfter.Sub(now) < ExpiryWarning:
		warning = fmt.Sprintf("certificate %s expires in %s, on %s", certFile, leaf.NotAfter.Sub(now).Round(time.Hour), leaf.NotAfter.UTC().Format(time.DateTime))
	}
	return &pair, warning, nil, ""
}

// loadCAPool reads a PEM file of CA certificates.
func loadCAPool(path string) (*x509.CertPool, error) {
	data, err := readPEMFile(path, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		pool.AddCert(c)
	}
	return pool, nil
}

// readPEMFile reads path and checks it holds a PEM block (of typ, when
// given).
func readPEMFile(path, typ string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if typ == "" || b.Type == typ {
			return data, nil
		}
	}
	if typ == "" {
		return nil, fmt.Errorf("%s holds no PEM block", path)
	}
	return nil, fmt.Errorf("%s holds no PEM %s", path, typ)
}

// LoadCertificate reads a PEM certificate chain and its key, as a tls:
// endpoint's cert and key are read (the key readable by its owner only,
// the pair matching), for other TLS servers of pxroute's (the admin
// endpoint). warning is set when the certificate is expired, not yet
// valid, or expires within ExpiryWarning.
func LoadCertificate(certFile, keyFile string) (c *tls.Certificate, warning string, err error) {
	c, warning, err, _ = loadKeyPair(certFile, keyFile, time.Now())
	return c, warning, err
}
