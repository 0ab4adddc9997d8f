package tests

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"

	"testing"
	"time"
)

// TestWebSocketProbeCloseHandshake: the close handshake's edge cases.
// Each client's close is echoed (1000 when it had no code) and counted by
// its code; nothing it sends after its close reaches the room, even in
// the same write; a client that never answers our close is not waited
// for; a message sent before the close still arrives.
func TestWebSocketProbeCloseHandshake(t *testing.T) {
	cases := []struct {
		name     string
		send     func(t *testing.T, w *wsClient)
		echo     uint16
		received string // the count its close makes
		deliver  string // what the TCP member gets first ("" nothing)
	}{
		{"close with a reason", func(t *testing.T, w *wsClient) {
			w.frame(t, true, 8, append([]byte{0x0f, 0xa0}, "see you κ"...), false) // 4000
		}, 4000, "close_received_other", ""},
		{"close without a code", func(t *testing.T, w *wsClient) { w.frame(t, true, 8, nil, false) }, 1000, "close_received_none", ""},
		{"close 1001", func(t *testing.T, w *wsClient) { w.frame(t, true, 8, []byte{0x03, 0xe9}, false) }, 1001, "close_received_1001", ""},
		{"a message, then close, in one write", func(t *testing.T, w *wsClient) {
			w.c.Write(append(masked(1, "before close"), masked(8, "\x03\xe8")...))
		}, 1000, "close_received_1000", "before close"},
		{"close, then a message, in one write", func(t *testing.T, w *wsClient) {
			w.c.Write(append(masked(8, "\x03\xe8"), masked(1, "after close")...))
		}, 1000, "close_received_1000", ""},
		{"close, then a message once the echo is read", func(t *testing.T, w *wsClient) {
			w.frame(t, true, 8, []byte{0x03, 0xe8}, false)
			if code := w.closeCode(t); code != 1000 {
				t.Fatalf("echo %d", code)
			}
			w.c.Write(masked(1, "late"))
		}, 0, "close_received_1000", ""},
		{"close inside a fragmented message", func(t *testing.T, w *wsClient) {
			w.frame(t, false, 1, []byte("half"), false)
			w.frame(t, true, 8, []byte{0x03, 0xe8}, false)
			w.frame(t, true, 0, []byte(" message"), false)
		}, 1000, "close_received_1000", ""},
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(wsRelayYAML, ""))
			tc0 := dial(t, r.Addr("term"))
			waitFor(t, "term", func() bool { return endpoint(r.Stats(), "term").Active == 1 })
			tr := bufio.NewReader(tc0)
			for i, tc := range cases {
				w := wsDial(t, r.Addr("web"), "/chat")
				waitFor(t, "member", func() bool { return endpoint(r.Stats(), "web").Active == 1 })
				tc.send(t, w)
				if tc.echo != 0 {
					if code := w.closeCode(t); code != tc.echo {
						t.Fatalf("%s: echoed %d, want %d", tc.name, code, tc.echo)
					}
				}
				if !w.ended(t) {
					t.Fatalf("%s: not ended after the close", tc.name)
				}
				waitFor(t, tc.name+": counted", func() bool { return wsCount(r, "web", tc.received) >= 1 && endpoint(r.Stats(), "web").Active == 0 })
				if tc.deliver != "" {
					if got := readLines(t, tr, 1)[0]; got != tc.deliver {
						t.Fatalf("%s: term got %q, want %q", tc.name, got, tc.deliver)
					}
				}
				// A marker through a fresh client: whatever came after a
				// close would arrive before it.
				m := wsDial(t, r.Addr("web"), "/chat")
				m.send(t, 1, fmt.Sprintf("marker %d", i))
				if got := readLines(t, tr, 1)[0]; got != fmt.Sprintf("marker %d", i) {
					t.Fatalf("%s: term got %q after the close, want only the marker", tc.name, got)
				}
				m.frame(t, true, 8, nil, false)
				m.ended(t)
				waitFor(t, "marker gone", func() bool { return endpoint(r.Stats(), "web").Active == 0 })
			}
			if n := errorsOf(r.Stats(), "web"); n != 0 {
				t.Errorf("clean closes counted %d errors", n)
			}
		})
	}
}

// TestWebSocketProbeStopClose: when the router stops, each WebSocket
// client gets a close frame saying the server goes away (1001, RFC 6455
// 7.4.1; a connection ending otherwise gets 1000) and its connection
// ends, even one that never answers the close, and Stop returns in time.
func TestWebSocketProbeStopClose(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(wsRelayYAML, ""))
			var ws []*wsClient
			for range 3 {
				ws = append(ws, wsDial(t, r.Addr("web"), "/chat"))
			}
			waitFor(t, "members", func() bool { return endpoint(r.Stats(), "web").Active == 3 })
			began := time.Now()
			if err := r.StopWithin(2 * time.Second); err != nil {
				t.Fatalf("stop: %v", err)
			}
			if d := time.Since(began); d > 2*time.Second {
				t.Errorf("stop took %v", d)
			}
			for i, w := range ws {
				if code := w.closeCode(t); code != 1001 {
					t.Errorf("client %d: close %d at stop, want 1001", i, code)
				}
				if !w.ended(t) {
					t.Errorf("client %d: not ended at stop", i)
				}
			}
		})
	}
}

// masked is one whole masked client frame (a zero key: the payload as
// is), for writing several frames in one write.
func masked(op byte, payload string) []byte {
	b := []byte{0x80 | op, 0x80 | byte(len(payload)), 0, 0, 0, 0}
	return append(b, payload...)
}

// TestWebSocketReloadRetireSaysGoingAway: a reload that removes a
// WebSocket endpoint closes its clients with 1001 (going away), as a
// stop does; the endpoint kept beside it is not closed.
func TestWebSocketReloadRetireSaysGoingAway(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "t.yaml")
			before := `
endpoints:
  web:  {kind: tcp, listen: "127.0.0.1:0", framing: websocket, path: /chat}
  term: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: [web]}
  - {pattern: echo, members: term}
`
			after := `
endpoints:
  term: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: echo, members: term}
`
			os.WriteFile(file, []byte(before), 0o644)
			r := startFile(t, v, file)
			w := wsDial(t, r.Addr("web"), "/chat")
			waitFor(t, "member", func() bool { return endpoint(r.Stats(), "web").Active == 1 })
			os.WriteFile(file, []byte(after), 0o644)
			if _, err := r.Reload(); err != nil {
				t.Fatal(err)
			}
			if code := w.closeCode(t); code != 1001 {
				t.Fatalf("close %d when a reload removed the endpoint, want 1001", code)
			}
			if !w.ended(t) {
				t.Fatal("not ended when a reload removed the endpoint")
			}
		})
	}
}
