package tests

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pxroute/pxroute/topology"
)

// Probe 30: stop and reload while the plain side of a bridge waits at
// its splice for its TLS connect peer's handshake (the TLS server holds
// its handshake until released). What the server reads raw is recorded:
// the client's plaintext must never be on that wire.

// rawRecorder keeps every byte read from a conn, as it came off the wire.
type rawRecorder struct {
	net.Conn
	mu  sync.Mutex
	raw bytes.Buffer
}

func (r *rawRecorder) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	r.mu.Lock()
	r.raw.Write(b[:n])
	r.mu.Unlock()
	return n, err
}

func (r *rawRecorder) contains(s []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Contains(r.raw.Bytes(), s)
}

func TestProbe30StopAndReloadWhileWaitingForTLS(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}}
	secret := []byte("PLAINTEXT-SECRET-probe30-")
	payload := bytes.Repeat(secret, (2<<20)/len(secret))
	cases := []string{"stop", "reload-removing-the-bridge", "reload-keeping-it"}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			for _, name := range cases {
				t.Run(name, func(t *testing.T) {
					release := make(chan struct{})
					accepted := make(chan *rawRecorder, 4)
					back := serveEach(t, listenLocal(t), func(c net.Conn) {
						rec := &rawRecorder{Conn: c}
						accepted <- rec
						<-release
						tc := tls.Server(rec, cfg)
						dc := deadlineConn{tc}
						io.Copy(dc, dc)
						tc.CloseWrite()
					})
					t.Cleanup(func() {
						select {
						case <-release:
						default:
							close(release)
						}
					})
					topo := func(extra string) string {
						return fmt.Sprintf(`
drain_timeout: 1s
%sendpoints:
  front: {kind: tcp, listen: "127.0.0.1:0"}
  back:  {kind: tcp, connect: %q, tls: {ca: %q, server_name: localhost}}
  other: {kind: tcp, listen: "127.0.0.1:0"}
routes:
  - {pattern: bridge, from: front, to: back}
  - {pattern: bridge, from: other, to: back}
`, extra, back, pki.caPath)
					}
					r := start(t, v, topo(""))
					c := dial(t, r.Addr("front"))
					c.SetDeadline(time.Time{})
					dc := deadlineConn{c}
					wrote := make(chan error, 1)
					go func() {
						_, err := dc.Write(payload)
						if err == nil {
							err = c.CloseWrite()
						}
						wrote <- err
					}()
					var rec *rawRecorder
					select {
					case rec = <-accepted:
					case <-time.After(ioTimeout):
						t.Fatal("pxroute did not dial the TLS server")
					}
					time.Sleep(100 * time.Millisecond) // the plain side is waiting now
					began := time.Now()
					switch name {
					case "stop":
						if err := r.StopWithin(2 * time.Second); err != nil {
							t.Fatalf("stop while waiting: %v", err)
						}
					case "reload-removing-the-bridge":
						comp, err := topology.Load(t.Name()+".yaml", []byte(fmt.Sprintf(`
drain_timeout: 1s
endpoints:
  other: {kind: tcp, listen: "127.0.0.1:0"}
  sink:  {kind: tcp, connect: %q}
routes:
  - {pattern: forward, from: other, to: sink}
`, back)))
						if err != nil {
							t.Fatal(err)
						}
						if _, err := r.Apply(comp); err != nil {
							t.Fatalf("reload: %v", err)
						}
					case "reload-keeping-it":
						comp, err := topology.Load(t.Name()+".yaml", []byte(topo("busy_poll: 1ms\n")))
						if err != nil {
							t.Fatal(err)
						}
						if _, err := r.Apply(comp); err != nil {
							t.Fatalf("reload: %v", err)
						}
						close(release)
						got, err := io.ReadAll(dc)
						if err != nil || !bytes.Equal(got, payload) {
							t.Fatalf("after the reload: %d bytes back of %d (%v)", len(got), len(payload), err)
						}
					}
					if name != "reload-keeping-it" {
						n, err := io.Copy(io.Discard, dc)
						var ne net.Error
						if errors.As(err, &ne) && ne.Timeout() {
							t.Fatalf("the client's connection stalled after %s: %d bytes, %v", name, n, err)
						}
						t.Logf("the client's connection ended %v after the %s (%d bytes, %v)", time.Since(began).Round(time.Millisecond), name, n, err)
					}
					if rec.contains(secret) {
						t.Fatalf("the client's plaintext was on the TLS wire")
					}
				})
			}
		})
	}
}
