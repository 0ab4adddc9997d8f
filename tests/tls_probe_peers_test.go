package tests

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// The hostile TLS peers of the bad-input and probe tests: a raw TLS 1.2
// client that finishes a real handshake with crypto/tls and then writes
// whatever records it likes under the session's keys (any content type,
// any length, a broken MAC), and a well-behaved client that keeps one
// connection open beside them and checks its echo byte-exact.

// rawTLS12 is a TLS 1.2 AES-128-GCM connection whose records the test
// writes itself once crypto/tls has finished the handshake.
type rawTLS12 struct {
	c    *net.TCPConn
	aead cipher.AEAD
	salt [4]byte
	seq  uint64 // the next record's (1: the Finished was 0)
}

// helloTap keeps the first bytes read, where the ServerHello's random is.
type helloTap struct {
	net.Conn
	read []byte
}

func (h *helloTap) Read(p []byte) (int, error) {
	n, err := h.Conn.Read(p)
	if len(h.read) < 64 {
		h.read = append(h.read, p[:n]...)
	}
	return n, err
}

// tlsClientConfig is a crypto/tls client for pki's "localhost" server.
func tlsClientConfig(pki *testPKI, version uint16) *tls.Config {
	return &tls.Config{ServerName: "localhost", RootCAs: pki.pool, MinVersion: version, MaxVersion: version}
}

// dialRawTLS12 handshakes with addr and derives the client's write keys
// (RFC 5246 §6.3) from crypto/tls's key log and the hellos' randoms.
func dialRawTLS12(t *testing.T, addr string, pki *testPKI) *rawTLS12 {
	t.Helper()
	tcp := dial(t, addr)
	tap := &helloTap{Conn: tcp}
	var keylog bytes.Buffer
	cfg := tlsClientConfig(pki, tls.VersionTLS12)
	cfg.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	cfg.KeyLogWriter = &keylog
	if err := tls.Client(tap, cfg).Handshake(); err != nil {
		t.Fatalf("raw client handshake: %v", err)
	}
	f := strings.Fields(keylog.String())
	if len(f) != 3 || f[0] != "CLIENT_RANDOM" || len(tap.read) < 43 {
		t.Fatalf("key log %q, %d bytes read", keylog.String(), len(tap.read))
	}
	clientRandom, _ := hex.DecodeString(f[1])
	master, _ := hex.DecodeString(f[2])
	serverRandom := tap.read[11:43] // record header 5, handshake header 4, version 2
	return newRawTLS12(tcp, master, clientRandom, serverRandom, true)
}

// newRawTLS12 derives one side's write key and salt (RFC 5246 §6.3:
// client key, server key, client IV, server IV).
func newRawTLS12(c *net.TCPConn, master, clientRandom, serverRandom []byte, isClient bool) *rawTLS12 {
	kb := prf12(master, "key expansion", append(append([]byte(nil), serverRandom...), clientRandom...), 2*16+2*4)
	key, salt := kb[:16], kb[32:36]
	if !isClient {
		key, salt = kb[16:32], kb[36:40]
	}
	block, _ := aes.NewCipher(key) // 16 bytes: never fails
	r := &rawTLS12{c: c, seq: 1}
	r.aead, _ = cipher.NewGCM(block)
	copy(r.salt[:], salt)
	return r
}

// writeTap keeps the first bytes written, where a ServerHello's random is.
type writeTap struct {
	net.Conn
	wrote []byte
}

func (w *writeTap) Write(p []byte) (int, error) {
	if len(w.wrote) < 64 {
		w.wrote = append(w.wrote, p...)
	}
	return w.Conn.Write(p)
}

// serveRawTLS12 is a hostile server's side of tcp: it finishes a TLS 1.2
// handshake as cert's holder and returns the connection with its write
// keys. It runs on the server's goroutine: errors are returned.
func serveRawTLS12(tcp *net.TCPConn, cert tls.Certificate) (*rawTLS12, error) {
	tcp.SetDeadline(time.Now().Add(ioTimeout))
	tap := &writeTap{Conn: tcp}
	var keylog bytes.Buffer
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, KeyLogWriter: &keylog}
	if err := tls.Server(tap, cfg).Handshake(); err != nil {
		return nil, err
	}
	f := strings.Fields(keylog.String())
	if len(f) != 3 || f[0] != "CLIENT_RANDOM" || len(tap.wrote) < 43 {
		return nil, fmt.Errorf("key log %q, %d bytes written", keylog.String(), len(tap.wrote))
	}
	clientRandom, _ := hex.DecodeString(f[1])
	master, _ := hex.DecodeString(f[2])
	return newRawTLS12(tcp, master, clientRandom, tap.wrote[11:43], false), nil
}

// prf12 is TLS 1.2's PRF with SHA-256 (RFC 5246 §5).
func prf12(secret []byte, label string, seed []byte, n int) []byte {
	seed = append([]byte(label), seed...)
	var out []byte
	a := seed
	for len(out) < n {
		h := hmac.New(sha256.New, secret)
		h.Write(a)
		a = h.Sum(nil)
		h = hmac.New(sha256.New, secret)
		h.Write(a)
		h.Write(seed)
		out = h.Sum(out)
	}
	return out[:n]
}

// record is content sealed as one record of type typ.
func (r *rawTLS12) record(typ byte, content []byte) []byte {
	var explicit [8]byte
	binary.BigEndian.PutUint64(explicit[:], r.seq)
	var aad [13]byte
	binary.BigEndian.PutUint64(aad[:], r.seq)
	aad[8], aad[9], aad[10] = typ, 3, 3
	binary.BigEndian.PutUint16(aad[11:], uint16(len(content)))
	n := append(r.salt[:len(r.salt):len(r.salt)], explicit[:]...)
	body := append(explicit[:], r.aead.Seal(nil, n, content, aad[:])...)
	r.seq++
	hdr := []byte{typ, 3, 3, byte(len(body) >> 8), byte(len(body))}
	return append(hdr, body...)
}

func (r *rawTLS12) write(t *testing.T, b []byte) {
	t.Helper()
	if _, err := r.c.Write(b); err != nil {
		t.Fatalf("raw client write: %v", err)
	}
}

// closedByPeer waits for c's peer to close it (EOF or a reset) and
// returns how long that took; it fails if c stays open for ioTimeout.
func closedByPeer(t *testing.T, c net.Conn) time.Duration {
	t.Helper()
	begin := time.Now()
	c.SetReadDeadline(begin.Add(ioTimeout))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the bad connection is still open after %v", ioTimeout)
		}
		return time.Since(begin)
	}
}

// goodTLS is a well-behaved client kept open beside a hostile one: each
// round trip sends numbered lines and wants them echoed byte-exact.
type goodTLS struct {
	c     *tls.Conn
	r     *bufio.Reader
	round int
}

func dialGoodTLS(t *testing.T, addr string, pki *testPKI, version uint16) *goodTLS {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: ioTimeout}, "tcp", addr, tlsClientConfig(pki, version))
	if err != nil {
		t.Fatalf("good client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &goodTLS{c: c, r: bufio.NewReader(c)}
}

// roundTrip sends 2,000 lines and reads them back.
func (g *goodTLS) roundTrip(t *testing.T) {
	t.Helper()
	g.round++
	var send []byte
	for i := range 2000 {
		send = fmt.Appendf(send, "good %d line %d\n", g.round, i)
	}
	g.c.SetDeadline(time.Now().Add(ioTimeout))
	wrote := make(chan error, 1)
	go func() { _, err := g.c.Write(send); wrote <- err }()
	got := make([]byte, len(send))
	if _, err := io.ReadFull(g.r, got); err != nil {
		t.Fatalf("good client round %d: %v", g.round, err)
	}
	if err := <-wrote; err != nil {
		t.Fatalf("good client round %d write: %v", g.round, err)
	}
	if !bytes.Equal(got, send) {
		t.Fatalf("good client round %d: echo differs", g.round)
	}
}

// tlsStats is an endpoint's TLS figures.
func tlsStats(r *router.Router, name string) (secured uint64, failed map[string]uint64, errs uint64) {
	for _, e := range r.Stats().Endpoints {
		if e.Name == name {
			return e.Secured, e.SecureFailed, e.Errors
		}
	}
	return 0, nil, 0
}

// failedTotal sums failed over its reasons.
func failedTotal(failed map[string]uint64) (n uint64) {
	for _, v := range failed {
		n += v
	}
	return n
}

// tlsFailLogs counts the log lines of TLS failure episodes.
func tlsFailLogs(logs *lockedBuffer) int {
	return strings.Count(logs.String(), "closing connection: TLS failed")
}
