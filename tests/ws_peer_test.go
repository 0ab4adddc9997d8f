package tests

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// wsPeer is a python3-websockets client or echo server (an independent
// RFC 6455 implementation, the one Python users run) in a subprocess
// driven by tests/testdata/ws_peer.py: a JSON spec of actions in, one line
// per result out. Its run is bounded by the spec's timeout (SIGALRM) and
// killed when the test ends.
type wsPeer struct{ *pyPeer }

// requireWebsockets fails the test (never skips it) when
// python3-websockets is missing.
func requireWebsockets(t *testing.T) { requirePython(t, "websockets", "python3-websockets") }

// startWSPeer runs ws_peer.py with spec: a client waits until CONNECTED,
// a server ("serve") until BOUND.
func startWSPeer(t *testing.T, spec map[string]any) *wsPeer {
	t.Helper()
	requireWebsockets(t)
	_, serve := spec["serve"]
	p := &wsPeer{startPyPeer(t, "websockets peer", "testdata/ws_peer.py", spec, serve)}
	if !serve {
		if line := p.next(t); !strings.HasPrefix(line, "CONNECTED ") {
			t.Fatalf("websockets peer: want CONNECTED, got %q: %s", line, p.stderr)
		}
	}
	return p
}

// wsResult is one result line: exactly one field is set.
type wsResult struct {
	Recv       *string `json:"recv,omitempty"`
	RecvBin    *string `json:"recvbin,omitempty"`
	Pong       *string `json:"pong,omitempty"`
	Closed     *int    `json:"closed,omitempty"`
	PeerClosed *int    `json:"peer_closed,omitempty"`
	Reason     *string `json:"reason,omitempty"`
}

// result reads one result line.
func (p *wsPeer) result(t *testing.T) wsResult {
	t.Helper()
	line := p.next(t)
	var r wsResult
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("websockets peer: want a result, got %.200q (%v): %s", line, err, p.stderr)
	}
	return r
}

// expect reads len(want) result lines and compares them as JSON.
func (p *wsPeer) expect(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		got := p.next(t)
		var g, e any
		if err := json.Unmarshal([]byte(w), &e); err != nil {
			t.Fatalf("bad expectation %q: %v", w, err)
		}
		if json.Unmarshal([]byte(got), &g) != nil || !reflect.DeepEqual(g, e) {
			t.Fatalf("websockets peer said %.200q, want %s: %s", got, w, p.stderr)
		}
	}
}

// The driver against python3-websockets' own server (ws_peer.py serve, an
// echo): every action round-trips, and both ends report the close codes.
func TestWSPeerAgainstItsOwnServer(t *testing.T) {
	cases := []struct {
		name    string
		actions []any
		want    []string // the client's result lines, in order
		server  string   // the server's line for the connection's end
	}{
		{"text-comes-back-as-text-utf-8-intact",
			[]any{[]any{"text", "h\u00e9llo \u2713"}, []any{"recv", 1}, []any{"close", 1000, ""}},
			[]string{`{"recv": "h\u00e9llo \u2713"}`, `{"closed": 1000, "reason": ""}`},
			`{"peer_closed": 1000, "reason": ""}`},
		{"binary-comes-back-as-binary",
			[]any{[]any{"binary", "00ff7f80"}, []any{"recv", 1}, []any{"close", 1000, ""}},
			[]string{`{"recvbin": "00ff7f80"}`, `{"closed": 1000, "reason": ""}`},
			`{"peer_closed": 1000, "reason": ""}`},
		{"fragments-arrive-as-one-message",
			[]any{[]any{"fragments", []string{"frag", "men", "ted"}}, []any{"binfragments", []string{"01", "0203"}},
				[]any{"recv", 2}, []any{"close", 1000, ""}},
			[]string{`{"recv": "fragmented"}`, `{"recvbin": "010203"}`, `{"closed": 1000, "reason": ""}`},
			`{"peer_closed": 1000, "reason": ""}`},
		{"a-ping-gets-its-pong",
			[]any{[]any{"ping", "c0ffee"}, []any{"close", 1000, ""}},
			[]string{`{"pong": "c0ffee"}`, `{"closed": 1000, "reason": ""}`},
			`{"peer_closed": 1000, "reason": ""}`},
		{"the-clients-close-code-and-reason-reach-the-server",
			[]any{[]any{"close", 4000, "bye"}},
			[]string{`{"closed": 4000, "reason": "bye"}`},
			`{"peer_closed": 4000, "reason": "bye"}`},
		{"the-servers-close-code-and-reason-reach-the-client",
			[]any{[]any{"text", "close:4001:done"}, []any{"waitclose"}},
			[]string{`{"closed": 4001, "reason": "done"}`},
			`{"peer_closed": 4001, "reason": "done"}`},
	}
	server := startWSPeer(t, map[string]any{"serve": "127.0.0.1:0"})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client := startWSPeer(t, map[string]any{"connect": server.bound, "actions": c.actions})
			client.expect(t, c.want...)
			client.finish(t)
			server.expect(t, c.server)
		})
	}
}

// The frames the driver writes, read off the wire by hand: fragments are
// separate frames (first with the message's opcode, then continuations,
// and an empty FIN continuation after the last: websockets cannot know an
// iterable's last item in advance), every frame is masked, pings carry their payload, and
// the close frame carries the code and reason.
func TestWSPeerWritesTheFramesItSays(t *testing.T) {
	frames := make(chan string, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, br, ok := acceptWebSocket(w, r)
		if !ok {
			return
		}
		defer conn.Close()
		m := &stubMember{conn: conn}
		for {
			f, err := readClientFrame(br) // fails on an unmasked frame
			if err != nil {
				frames <- "error: " + err.Error()
				return
			}
			frames <- fmt.Sprintf("fin=%v op=%d %s", f.fin, f.op, hex.EncodeToString(f.payload))
			switch f.op {
			case 9:
				m.write(10, f.payload)
			case 8:
				m.write(8, f.payload[:2])
				frames <- "closed"
				return
			}
		}
	}))
	defer srv.Close()
	client := startWSPeer(t, map[string]any{
		"connect": "ws" + strings.TrimPrefix(srv.URL, "http") + "/",
		"actions": []any{
			[]any{"fragments", []string{"ab", "c", "d"}},
			[]any{"binary", "ff"},
			[]any{"ping", "0102"},
			[]any{"close", 4002, "x"},
		},
	})
	client.expect(t, `{"pong": "0102"}`, `{"closed": 4002, "reason": ""}`)
	client.finish(t)
	close4002 := binary.BigEndian.AppendUint16(nil, 4002)
	want := []string{
		"fin=false op=1 " + hex.EncodeToString([]byte("ab")),
		"fin=false op=0 " + hex.EncodeToString([]byte("c")),
		"fin=false op=0 " + hex.EncodeToString([]byte("d")),
		"fin=true op=0 ", // websockets ends an iterable with an empty FIN continuation
		"fin=true op=2 ff",
		"fin=true op=9 0102",
		"fin=true op=8 " + hex.EncodeToString(append(close4002, 'x')),
		"closed",
	}
	for i, w := range want {
		select {
		case got := <-frames:
			if got != w {
				t.Fatalf("frame %d: %s, want %s", i, got, w)
			}
		case <-time.After(ioTimeout):
			t.Fatalf("frame %d: none within %v, want %s", i, ioTimeout, w)
		}
	}
}
