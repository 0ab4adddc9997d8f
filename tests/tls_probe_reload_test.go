package tests

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestTLSProbeReloadMidHandshake: a reload that changes a TLS listener
// closes its connections stalled mid-handshake, running or queued in the
// pool: their handshakes are cancelled, and no goroutine or descriptor
// stays behind.
func TestTLSProbeReloadMidHandshake(t *testing.T) {
	const clients = 20
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			echo := echoServer(t)
			file := filepath.Join(t.TempDir(), "tls.yaml")
			write := func(timeout string) {
				// The retired generation drains (nothing: no handshake
				// finished) until drain_timeout, then closes them.
				yaml := "drain_timeout: 500ms\n" + fmt.Sprintf(tlsEchoTopology, "", cert, key, "max_handshakes: 4, handshake_timeout: "+timeout, echo)
				if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write("1m")
			r := startFile(t, v, file)
			runtime.GC()
			baseG, baseFD := runtime.NumGoroutine(), openFDs(t)
			var conns []net.Conn
			for range clients {
				c, err := net.Dial("tcp", r.Addr("front"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				conns = append(conns, c)
			}
			waitFor(t, "every client accepted", func() bool { return endpoint(r.Stats(), "front").Opened == clients })
			write("2m")
			begin := time.Now()
			if _, err := r.Reload(); err != nil {
				t.Fatalf("reload: %v", err)
			}
			reloaded := time.Since(begin)
			for _, c := range conns {
				closedByPeer(t, c)
				c.Close()
			}
			t.Logf("the reload returned in %v, the stalled clients were closed in %v", reloaded.Round(time.Millisecond), time.Since(begin).Round(time.Millisecond))
			settles(t, "after the reload", baseG, baseFD)
			dialGoodTLS(t, r.Addr("front"), pki, 0).roundTrip(t)
		})
	}
}
