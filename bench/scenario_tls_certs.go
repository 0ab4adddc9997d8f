package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// tlsServerName is the name the benchmark's server certificates hold and
// its clients ask for.
const tlsServerName = "pxroute.bench"

// tlsFiles are the PEM files of one server certificate, made at run time.
type tlsFiles struct {
	ca, cert, key string // key is 0600
}

var (
	tlsFilesOnce sync.Once
	tlsFilesMade map[string]tlsFiles // by key type: "ecdsa", "rsa"
	tlsFilesErr  error
)

// benchCerts makes, once per run, a CA and two server certificates it
// signs (ECDSA P-256 and RSA 2048, for tlsServerName and 127.0.0.1) under
// cfg.dir.
func benchCerts(cfg config) (map[string]tlsFiles, error) {
	tlsFilesOnce.Do(func() { tlsFilesMade, tlsFilesErr = makeCerts(filepath.Join(cfg.dir, "tls")) })
	return tlsFilesMade, tlsFilesErr
}

func makeCerts(dir string) (map[string]tlsFiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pxroute bench CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	caPath := filepath.Join(dir, "ca.pem")
	if err := writePEM(caPath, "CERTIFICATE", caDER, 0o644); err != nil {
		return nil, err
	}
	out := map[string]tlsFiles{}
	for i, kind := range []string{"ecdsa", "rsa"} {
		var key crypto.Signer
		if kind == "ecdsa" {
			key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		} else {
			key, err = rsa.GenerateKey(rand.Reader, 2048)
		}
		if err != nil {
			return nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: tlsServerName},
			NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
			DNSNames: []string{tlsServerName}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
			KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
		if err != nil {
			return nil, err
		}
		pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		f := tlsFiles{ca: caPath, cert: filepath.Join(dir, kind+".crt"), key: filepath.Join(dir, kind+".key")}
		if err := writePEM(f.cert, "CERTIFICATE", der, 0o644); err != nil {
			return nil, err
		}
		if err := writePEM(f.key, "PRIVATE KEY", pkcs8, 0o600); err != nil {
			return nil, err
		}
		out[kind] = f
	}
	return out, nil
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if err := pem.Encode(f, &pem.Block{Type: typ, Bytes: der}); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
