package tests

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// Issue 21, the kernel TLS path: where the kernel takes the keys
// (TCP_ULP "tls"), a TLS connection is driven as plain TCP — a raw bridge
// splices, a file goes to a TLS socket by splice — and what the kernel
// leaves to user space (close_notify, key updates, truncation) is handled
// on the loop. These run where the kernel has TLS and are skipped, with
// the probe's reason, where it has not (this machine: CONFIG_TLS unset).

// needKernelTLS skips where the kernel takes no TLS keys, saying why.
func needKernelTLS(t *testing.T) {
	t.Helper()
	if err := router.KernelTLSUnavailable(); err != nil {
		t.Skipf("kernel TLS unavailable here: %v", err)
	}
}

// waitKernel waits until endpoint name has n connections on the kernel
// path: their keys are in their sockets, so what the peer sends next is
// read by the kernel, not by the handshake.
func waitKernel(t *testing.T, r *router.Router, name string, n uint64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s: %d kernel TLS connections", name, n), func() bool {
		for _, e := range r.Stats().Endpoints {
			if e.Name == name {
				return e.TLSKernel == n
			}
		}
		return false
	})
}

func TestTLSKernel(t *testing.T) {
	needKernelTLS(t)
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	client := &tls.Config{RootCAs: pki.pool, ServerName: "localhost"}
	for _, suite := range []struct {
		name string
		cfg  func() *tls.Config
	}{
		{"tls13", func() *tls.Config { return client.Clone() }},
		{"tls12-aes128", func() *tls.Config {
			c := client.Clone()
			c.MaxVersion, c.CipherSuites = tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
			return c
		}},
		{"tls12-aes256", func() *tls.Config {
			c := client.Clone()
			c.MaxVersion, c.CipherSuites = tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
			return c
		}},
		{"tls12-chacha", func() *tls.Config {
			c := client.Clone()
			c.MaxVersion, c.CipherSuites = tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}
			return c
		}},
	} {
		for _, v := range variants() {
			t.Run(suite.name+"/"+v.String(), func(t *testing.T) {
				t.Run("bridge-splices-and-close_notify-both-ways", func(t *testing.T) {
					r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", tls: {cert: %q, key: %q}}
  back:  {kind: tcp, connect: %q}
routes:
  - {pattern: bridge, from: front, to: back}
`, cert, key, echoServer(t)))
					logFiguresOnFailure(t, r)
					tc := dialTLS(t, r.Addr("front"), suite.cfg())
					waitKernel(t, r, "front", 1)
					send := bytes.Repeat([]byte("spliced under kernel TLS\n"), 40000) // ~1 MB
					go func() {
						tc.Write(send)
						tc.CloseWrite() // close_notify, TCP still open
					}()
					// pxroute's own close_notify ends what the client
					// reads: ReadAll sees a clean EOF, not a truncation.
					got, err := io.ReadAll(tc)
					if err != nil || !bytes.Equal(got, send) {
						t.Fatalf("echoed %d of %d bytes, then %v", len(got), len(send), err)
					}
					waitFor(t, "both sides closed", func() bool {
						s := r.Stats()
						return endpoint(s, "front").Active == 0 && endpoint(s, "back").Active == 0
					})
					if n, failed, errs := tlsFiguresOf(r.Stats(), "front").counts(); n != 1 || len(nonZero(failed)) > 0 || errs != 0 {
						t.Fatalf("front: %d handshakes, failures %v, errors %d; want 1, none, 0", n, nonZero(failed), errs)
					}
					if ops := r.Stats().Ops; ops["splice"] == 0 || ops["send"] != 0 {
						t.Fatalf("splice %d, send %d: a kernel TLS bridge splices, never copies", ops["splice"], ops["send"])
					}
				})
				t.Run("file-to-a-tls-socket-splices", func(t *testing.T) {
					path := filepath.Join(t.TempDir(), "blob")
					data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
					if err := os.WriteFile(path, data, 0o644); err != nil {
						t.Fatal(err)
					}
					got := make(chan []byte, 1)
					srv := tlsSink(t, cert, key, suite.cfg(), got)
					r := start(t, v, fmt.Sprintf(`
endpoints:
  src: {kind: file, path: %q}
  dst: {kind: tcp, connect: %q, tls: {ca: %q, server_name: localhost}}
routes:
  - {pattern: forward, from: src, to: dst}
`, path, srv, pki.caPath))
					logFiguresOnFailure(t, r)
					select {
					case b := <-got:
						if !bytes.Equal(b, data) {
							t.Fatalf("the TLS sink got %d bytes, want the file's %d", len(b), len(data))
						}
					case <-time.After(2 * ioTimeout):
						t.Fatal("the TLS sink got nothing")
					}
					waitKernel(t, r, "dst", 1)
					if ops := r.Stats().Ops; ops["splice"] < 2 || ops["send"] != 0 {
						t.Fatalf("splice %d, send %d: a file goes to a kernel TLS socket by splice", ops["splice"], ops["send"])
					}
				})
				t.Run("end-without-close_notify-is-counted-truncated", func(t *testing.T) {
					sink, lines := lineCollector(t)
					r := start(t, v, fmt.Sprintf(`
endpoints:
  in:  {kind: tcp, listen: "127.0.0.1:0", framing: lines, tls: {cert: %q, key: %q}}
  out: {kind: tcp, connect: %q, framing: lines}
routes:
  - {pattern: forward, from: in, to: out}
`, cert, key, sink))
					logFiguresOnFailure(t, r)
					raw, err := net.DialTimeout("tcp", r.Addr("in"), ioTimeout)
					if err != nil {
						t.Fatal(err)
					}
					raw.SetDeadline(time.Now().Add(ioTimeout))
					tc := tls.Client(raw, suite.cfg())
					if err := tc.Handshake(); err != nil {
						t.Fatal(err)
					}
					waitKernel(t, r, "in", 1)
					want, wire := numbered("before", 20)
					io.WriteString(tc, wire)
					for i := range want {
						select {
						case l := <-lines:
							if l != want[i] {
								t.Fatalf("line %d: %q, want %q", i, l, want[i])
							}
						case <-time.After(ioTimeout):
							t.Fatalf("%d of %d lines reached the sink", i, len(want))
						}
					}
					raw.Close() // FIN, no close_notify
					waitTLSFigures(t, r, "in", tlsFigures{Secured: 1, Failed: failed("truncated", 1), Errors: 1})
				})
			})
		}
	}
}

// tlsSink is a Go TLS server that sends each connection's bytes, read to
// its end, on got.
func tlsSink(t *testing.T, cert, key string, cfg *tls.Config, got chan<- []byte) string {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	srv := &tls.Config{Certificates: []tls.Certificate{pair}, MaxVersion: cfg.MaxVersion, CipherSuites: cfg.CipherSuites}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	return serveEach(t, ln, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(2 * ioTimeout))
		b, _ := io.ReadAll(c)
		got <- b
	})
}

// TestTLSKernelKeyUpdate: OpenSSL's s_client asks for a key update ("K":
// its KeyUpdate, update_requested) in the middle of a kernel TLS
// connection. A kernel that rekeys follows it and the lines after it come
// back; one that cannot closes the connection counted as kernel_rekey,
// with a log line that says so. Either way nothing is taken silently.
func TestTLSKernelKeyUpdate(t *testing.T) {
	needKernelTLS(t)
	bin := requireTool(t, "openssl", "openssl")
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			logs := &lockedBuffer{}
			r := startLogging(t, v, fmt.Sprintf(`
endpoints:
  e: {kind: tcp, listen: "127.0.0.1:0", framing: lines, tls: {cert: %q, key: %q, min_version: "1.3"}}
routes:
  - {pattern: echo, members: e}
`, cert, key), logs)
			logFiguresOnFailure(t, r)
			// Commands on (no -quiet, no -nocommands): a line "K" alone
			// is a KeyUpdate asking for ours.
			cmd := exec.Command(bin, "s_client", "-connect", r.Addr("e"), "-tls1_3", "-CAfile", pki.caPath,
				"-servername", "localhost", "-verify_return_error")
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			seen := make(chan string, 64)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					seen <- sc.Text()
				}
				close(seen)
			}()
			waitFor(t, "s_client's handshake on the kernel path", func() bool { return endpoint(r.Stats(), "e").Opened == 1 })
			waitKernel(t, r, "e", 1)
			expect := func(line string) bool {
				deadline := time.After(ioTimeout)
				for {
					select {
					case l, ok := <-seen:
						if !ok {
							return false
						}
						if strings.Contains(l, line) {
							return true
						}
					case <-deadline:
						return false
					}
				}
			}
			io.WriteString(stdin, "before the update\n")
			if !expect("before the update") {
				t.Fatalf("the line before the key update did not come back\n%s", stderr.String())
			}
			io.WriteString(stdin, "K\n")
			io.WriteString(stdin, "after the update\n")
			if expect("after the update") {
				if _, failed, errs := tlsFiguresOf(r.Stats(), "e").counts(); len(nonZero(failed)) > 0 || errs != 0 {
					t.Fatalf("the key update was followed but counted failures %v, errors %d", nonZero(failed), errs)
				}
				return
			}
			// This kernel cannot rekey: the connection closed, counted,
			// and the log says why.
			waitTLSFigures(t, r, "e", tlsFigures{Secured: 1, Failed: failed("kernel_rekey", 1), Errors: 1})
			if !strings.Contains(logs.String(), "cannot rekey kernel TLS") {
				t.Fatalf("a refused rekey without its log line:\n%s", logs.String())
			}
		})
	}
}
