package tests

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// TestWebSocketProbeWSSBadRecord: over wss, a client that upgrades, sends
// half a WebSocket frame and then a TLS record that fails its MAC is
// closed as bad_record (the half frame never reaches the room), counted
// once; a wss client beside it goes on.
func TestWebSocketProbeWSSBadRecord(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	cfg := &tls.Config{RootCAs: pki.pool, ServerName: "localhost"}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(wsRelayYAML, fmt.Sprintf(", tls: {cert: %q, key: %q}", cert, key)))
			good := wsDialTLS(t, r.Addr("web"), "/chat", cfg)
			tc := dial(t, r.Addr("term"))
			raw, err := net.DialTimeout("tcp", r.Addr("web"), ioTimeout)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { raw.Close() })
			raw.SetDeadline(time.Now().Add(ioTimeout))
			sc := tls.Client(raw, cfg)
			if err := sc.Handshake(); err != nil {
				t.Fatal(err)
			}
			bad, rep := wsUpgrade(t, sc, "/chat")
			if rep.status != 101 {
				t.Fatalf("status %d", rep.status)
			}
			waitFor(t, "members", func() bool { return endpoint(r.Stats(), "web").Active == 2 && endpoint(r.Stats(), "term").Active == 1 })
			whole := masked(1, "half a frame that never ends")
			if _, err := sc.Write(whole[:12]); err != nil {
				t.Fatal(err)
			}
			record := []byte{0x17, 0x03, 0x03, 0x00, 0x30}
			junk := make([]byte, 0x30)
			rand.Read(junk)
			raw.Write(append(record, junk...))
			bad.c = raw // what comes back is no longer TLS we can read
			if _, err := io.Copy(io.Discard, raw); err != nil && !isReset(err) {
				t.Fatalf("the bad client: %v", err)
			}
			waitFor(t, "bad_record counted", func() bool {
				_, failed, errs := tlsStats(r, "web")
				return failed["bad_record"] == 1 && errs == 1 && endpoint(r.Stats(), "web").Active == 1
			})
			good.send(t, 1, "still here")
			if got := readLines(t, bufio.NewReader(tc), 1)[0]; got != "still here" {
				t.Fatalf("term got %q (the half frame must not arrive)", got)
			}
		})
	}
}
