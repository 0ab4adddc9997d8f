package tlsrecord

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Helpers for tests against a real TLS peer: certificates, key logs, and
// the randoms a TLS 1.2 handshake leaves on the wire.

var (
	ecdsaCert = sync.OnceValue(func() tls.Certificate {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return selfSigned(k, &k.PublicKey)
	})
	rsaCert = sync.OnceValue(func() tls.Certificate {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return selfSigned(k, &k.PublicKey)
	})
)

func selfSigned(priv any, pub any) tls.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tlsrecord-test"},
		DNSNames:     []string{"tlsrecord-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		panic(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}
}

// keyLog is an NSS key log as crypto/tls (or OpenSSL) writes it.
type keyLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (k *keyLog) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.buf.Write(p)
}

// secret is label's secret (and its line's client random), from the key log.
func (k *keyLog) secret(t testing.TB, label string) (clientRandom, secret []byte) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	sc := bufio.NewScanner(bytes.NewReader(k.buf.Bytes()))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == label {
			cr, err1 := hex.DecodeString(f[1])
			s, err2 := hex.DecodeString(f[2])
			if err1 != nil || err2 != nil {
				t.Fatalf("key log line %q: %v %v", sc.Text(), err1, err2)
			}
			return cr, s
		}
	}
	t.Fatalf("key log has no %s:\n%s", label, k.buf.String())
	return nil, nil
}

// recorder keeps the first bytes read and written through a conn: the
// ServerHello, for its random, is the first a client reads and the first
// a server writes.
type recorder struct {
	net.Conn
	mu          sync.Mutex
	read, wrote []byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.mu.Lock()
	if len(r.read) < 64 {
		r.read = append(r.read, p[:min(n, 64)]...)
	}
	r.mu.Unlock()
	return n, err
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	if len(r.wrote) < 64 {
		r.wrote = append(r.wrote, p[:min(len(p), 64)]...)
	}
	r.mu.Unlock()
	return r.Conn.Write(p)
}

// serverHelloRandom is the random of the ServerHello this side read
// (client) or wrote (server).
func (r *recorder) serverHelloRandom(isClient bool) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if isClient {
		return serverRandom(r.read)
	}
	return serverRandom(r.wrote)
}

// serverRandom is the random of the ServerHello that starts b: a
// handshake record (5 bytes), the message's type and length (4), the
// server's version (2), then the random.
func serverRandom(b []byte) ([]byte, error) {
	if len(b) < 43 || b[0] != typeHandshake || b[5] != 2 {
		return nil, fmt.Errorf("no ServerHello at the start of %x", b)
	}
	return append([]byte(nil), b[11:43]...), nil
}

// secretsFromLog builds a side's Secrets from a finished handshake's key
// log (and, for TLS 1.2, the server random).
func secretsFromLog(t testing.TB, log *keyLog, st tls.ConnectionState, isClient bool, srvRandom []byte) Secrets {
	t.Helper()
	s := Secrets{Version: st.Version, Suite: st.CipherSuite, IsClient: isClient}
	if st.Version == tls.VersionTLS13 {
		_, s.ClientTrafficSecret = log.secret(t, "CLIENT_TRAFFIC_SECRET_0")
		_, s.ServerTrafficSecret = log.secret(t, "SERVER_TRAFFIC_SECRET_0")
		return s
	}
	s.ClientRandom, s.MasterSecret = log.secret(t, "CLIENT_RANDOM")
	s.ServerRandom = srvRandom
	// Each side's Finished went under the new keys with sequence 0.
	s.ReadSeq, s.WriteSeq = 1, 1
	return s
}
