package tests

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// 100 MB through a TLS bridge, byte-exact both ways: a client streams it
// to pxroute, whose other side is an echo server that hashes what it gets;
// the client hashes what it sent and what came back. The stream is a
// random block repeated at an offset that never lines up with a write, so
// a lost, doubled or reordered piece changes the hash. One case has pxroute
// listen with TLS and connect in plain, the other the reverse. Both end
// with a half-close (close_notify on the TLS side): pxroute passes it on,
// the echo ends, and the client reads to its end.

// bulkSize is what each case streams each way.
const bulkSize = 100 << 20

// bulkBlock is the random block the stream repeats: a length no write
// size divides.
var bulkBlock = func() []byte {
	b := make([]byte, 1<<20+13)
	r := rand.New(rand.NewPCG(21, 100))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

// writeBulk writes n bytes of the stream to w in writes of 256 KiB and
// returns their sha256.
func writeBulk(w io.Writer, n int) ([]byte, error) {
	h := sha256.New()
	for off := 0; off < n; {
		at := off % len(bulkBlock)
		k := min(256<<10, n-off, len(bulkBlock)-at)
		if _, err := w.Write(bulkBlock[at : at+k]); err != nil {
			return nil, fmt.Errorf("after %d bytes: %w", off, err)
		}
		h.Write(bulkBlock[at : at+k])
		off += k
	}
	return h.Sum(nil), nil
}

// deadlineConn is a conn whose every read and write must progress within
// ioTimeout: a long transfer on a loaded machine is no stall.
type deadlineConn struct{ net.Conn }

func (c deadlineConn) Read(b []byte) (int, error) {
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	return c.Conn.Read(b)
}

func (c deadlineConn) Write(b []byte) (int, error) {
	c.SetWriteDeadline(time.Now().Add(ioTimeout))
	return c.Conn.Write(b)
}

// hashed is what one side of a bulk transfer read: its size and sha256.
type hashed struct {
	n   int64
	sum []byte
	err error
}

// readHashed reads r to its end.
func readHashed(r io.Reader) hashed {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hashed{n: n, sum: h.Sum(nil), err: err}
}

// hashEchoServer accepts connections (TLS with cfg, plain with nil), and
// echoes each while hashing it; at its end it half-closes and reports.
func hashEchoServer(t *testing.T, cfg *tls.Config) (addr string, got <-chan hashed) {
	t.Helper()
	ln := listenLocal(t)
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	ch := make(chan hashed, 4)
	addr = serveEach(t, ln, func(c net.Conn) {
		dc := deadlineConn{c}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(dc, h), dc)
		if err == nil {
			err = c.(interface{ CloseWrite() error }).CloseWrite()
		}
		ch <- hashed{n: n, sum: h.Sum(nil), err: err}
	})
	return addr, ch
}

// bulkThrough streams bulkSize bytes over c (then half-closes it with
// closeWrite) and checks the echo server and c's reader each saw exactly
// the stream.
func bulkThrough(t *testing.T, c net.Conn, closeWrite func() error, echoed <-chan hashed) {
	t.Helper()
	dc := deadlineConn{c}
	sent := make(chan hashed, 1)
	go func() {
		sum, err := writeBulk(dc, bulkSize)
		if err == nil {
			err = closeWrite()
		}
		sent <- hashed{n: bulkSize, sum: sum, err: err}
	}()
	back := readHashed(dc)
	s := <-sent
	if s.err != nil {
		t.Fatalf("sending: %v", s.err)
	}
	var e hashed
	select {
	case e = <-echoed:
	case <-time.After(ioTimeout):
		t.Fatal("the echo server did not finish")
	}
	if e.err != nil || e.n != bulkSize || !bytes.Equal(e.sum, s.sum) {
		t.Errorf("the far side got %d bytes (%v), sha256 %x; sent %d, %x", e.n, e.err, e.sum, bulkSize, s.sum)
	}
	if back.err != nil || back.n != bulkSize || !bytes.Equal(back.sum, s.sum) {
		t.Errorf("came back: %d bytes (%v), sha256 %x; sent %d, %x", back.n, back.err, back.sum, bulkSize, s.sum)
	}
}

// cleanEnd checks that endpoint name ended its connections without an
// error or a TLS failure, and (secured) counted one handshake.
func cleanEnd(t *testing.T, r *router.Router, name string, secured bool) {
	t.Helper()
	waitFor(t, name+" closed", func() bool { return endpoint(r.Stats(), name).Active == 0 })
	n, failed, errs := tlsFiguresOf(r.Stats(), name).counts()
	if want := map[bool]uint64{true: 1}[secured]; n != want || len(nonZero(failed)) > 0 || errs != 0 {
		t.Errorf("%s: %d handshakes (want %d), failures %v, errors %d", name, n, want, nonZero(failed), errs)
	}
}

func TestTLSBulkBridgeByteExact(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	client := &tls.Config{RootCAs: pki.pool, ServerName: "localhost"}
	cases := []struct {
		name string
		run  func(t *testing.T, v variant)
	}{
		{"tls-listen-to-plain-connect", func(t *testing.T, v variant) {
			back, echoed := hashEchoServer(t, nil)
			r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", tls: {cert: %q, key: %q}}
  back:  {kind: tcp, connect: %q}
routes:
  - {pattern: bridge, from: front, to: back}
`, cert, key, back))
			c := dialTLS(t, r.Addr("front"), client)
			bulkThrough(t, c, c.CloseWrite, echoed)
			cleanEnd(t, r, "front", true)
			cleanEnd(t, r, "back", false)
		}},
		{"plain-listen-to-tls-connect", func(t *testing.T, v variant) {
			back, echoed := hashEchoServer(t, &tls.Config{Certificates: []tls.Certificate{pair}})
			r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0"}
  back:  {kind: tcp, connect: %q, tls: {ca: %q, server_name: localhost}}
routes:
  - {pattern: bridge, from: front, to: back}
`, back, pki.caPath))
			c := dial(t, r.Addr("front"))
			c.SetDeadline(time.Time{}) // deadlineConn moves it
			bulkThrough(t, c, c.CloseWrite, echoed)
			cleanEnd(t, r, "front", false)
			cleanEnd(t, r, "back", true)
		}},
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					began := time.Now()
					tc.run(t, v)
					t.Logf("%d MB each way in %v", bulkSize>>20, time.Since(began).Round(time.Millisecond))
				})
			}
		})
	}
}
