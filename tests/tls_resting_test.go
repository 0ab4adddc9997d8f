package tests

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"testing"
)

// More TLS connections on one loop than it keeps warm (opcodes'
// warmSessions, 512): each loop keeps the record layer's AEADs and the
// sealing buffers of the connections that used theirs last and rests the
// others', which build them again on their next record. Every connection echoes before and
// after the others pushed it out, byte-exact, with nothing failed.
func TestTLSConnectionsBeyondTheWarmRingEcho(t *testing.T) {
	const n = 540
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	for _, v := range variants() {
		if v.loops != 1 {
			continue // one loop holds them all: the ring is per loop
		}
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(`
endpoints:
  e: {kind: tcp, listen: "127.0.0.1:0", framing: lines, tls: {cert: %q, key: %q}}
routes:
  - {pattern: echo, members: e}
`, cert, key))
			logFiguresOnFailure(t, r)
			type client struct {
				c *tls.Conn
				r *bufio.Reader
			}
			clients := make([]client, n)
			echo := func(i int, round string) {
				line := fmt.Sprintf("%s %d %x\n", round, i, i*7919)
				cl := clients[i]
				if _, err := cl.c.Write([]byte(line)); err != nil {
					t.Fatalf("client %d, %s: write: %v", i, round, err)
				}
				got, err := cl.r.ReadString('\n')
				if err != nil || got != line {
					t.Fatalf("client %d, %s: echoed %q, %v; want %q", i, round, got, err, line)
				}
			}
			for i := range clients {
				c, err := tls.Dial("tcp", r.Addr("e"), tlsClientConfig(pki, tls.VersionTLS13))
				if err != nil {
					t.Fatalf("client %d: %v", i, err)
				}
				t.Cleanup(func() { c.Close() })
				clients[i] = client{c, bufio.NewReader(c)}
				echo(i, "first")
			}
			// The first n-512 have been pushed out by now; going round
			// twice pushes every one out and brings it back.
			for _, round := range []string{"second", "third"} {
				for i := range clients {
					echo(i, round)
				}
			}
			// A write is counted when it completes, which may be after
			// the client read it.
			waitFor(t, "every echo counted", func() bool { return endpoint(r.Stats(), "e").MsgsOut == 3*n })
			for _, e := range r.Stats().Endpoints {
				if e.Name == "e" && (e.Errors != 0 || e.MsgsOut != 3*n || e.Secured != n) {
					t.Fatalf("errors %d, msgs out %d, secured %d; want 0, %d, %d", e.Errors, e.MsgsOut, e.Secured, 3*n, n)
				}
			}
		})
	}
}
