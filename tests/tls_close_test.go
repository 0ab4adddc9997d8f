package tests

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// How a TLS peer ends: close_notify is an orderly end of input, whatever
// TCP does after it; a TCP end without close_notify is a truncation,
// counted (SecureFailed["truncated"], Errors), with what came before it
// delivered.

// lineCollector is a plain TCP server whose connections' lines arrive on
// its channel.
func lineCollector(t *testing.T) (addr string, lines <-chan string) {
	t.Helper()
	ch := make(chan string, 1024)
	addr = serveEach(t, listenLocal(t), func(c net.Conn) {
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			ch <- sc.Text()
		}
	})
	return addr, ch
}

func TestTLSPeerEnds(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	client := &tls.Config{RootCAs: pki.pool, ServerName: "localhost"}
	cases := []struct {
		name string
		run  func(t *testing.T, v variant)
	}{
		{"close_notify-with-tcp-still-open-ends-input-and-the-echo-comes-back", func(t *testing.T, v variant) {
			r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", tls: {cert: %q, key: %q}}
  back:  {kind: tcp, connect: %q}
routes:
  - {pattern: bridge, from: front, to: back}
`, cert, key, echoServer(t)))
			logFiguresOnFailure(t, r)
			tc := dialTLS(t, r.Addr("front"), client)
			send := bytes.Repeat([]byte("echo me\n"), 5000)
			tc.Write(send)
			// close_notify; the TCP connection stays open both ways.
			if err := tc.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			// The echo server ends only once pxroute half-closed it, and
			// pxroute's close_notify then ends what the client reads.
			got, err := io.ReadAll(tc)
			if err != nil || !bytes.Equal(got, send) {
				t.Fatalf("echoed %d bytes of %d, then %v", len(got), len(send), err)
			}
			waitFor(t, "both sides closed", func() bool {
				s := r.Stats()
				return endpoint(s, "front").Active == 0 && endpoint(s, "back").Active == 0
			})
			if n, failed, errs := tlsFiguresOf(r.Stats(), "front").counts(); n != 1 || len(nonZero(failed)) > 0 || errs != 0 {
				t.Fatalf("front: %d handshakes, failures %v, errors %d; want 1, none, 0", n, nonZero(failed), errs)
			}
		}},
		{"tcp-end-without-close_notify-is-counted-truncated-after-delivering-what-came-before", func(t *testing.T, v variant) {
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
			tc := tls.Client(raw, client)
			const n = 20
			want, wire := numbered("before", n)
			if _, err := io.WriteString(tc, wire); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the lines read", func() bool { return endpoint(r.Stats(), "in").MsgsIn == n })
			raw.Close() // FIN, no close_notify
			for i := range n {
				select {
				case l := <-lines:
					if l != want[i] {
						t.Fatalf("line %d: %q, want %q", i, l, want[i])
					}
				case <-time.After(ioTimeout):
					t.Fatalf("%d of %d lines reached the sink", i, n)
				}
			}
			waitFor(t, "the truncation counted", func() bool {
				_, failed, _ := tlsFiguresOf(r.Stats(), "in").counts()
				return failed["truncated"] > 0
			})
			s := r.Stats()
			if secured, failed, errs := tlsFiguresOf(s, "in").counts(); secured != 1 || failed["truncated"] != 1 || len(nonZero(failed)) != 1 || errs != 1 {
				t.Fatalf("in: %d handshakes, failures %v, errors %d; want 1, truncated 1, 1", secured, nonZero(failed), errs)
			}
			if e := endpoint(s, "out"); e.MsgsOut != n || e.Offered != n {
				t.Fatalf("out: offered %d, sent %d; want %d", e.Offered, e.MsgsOut, n)
			}
			if lost := nonZero(endpoint(s, "in").Lost); len(lost) > 0 {
				t.Fatalf("in lost messages: %v", lost)
			}
		}},
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, v) })
			}
		})
	}
}
