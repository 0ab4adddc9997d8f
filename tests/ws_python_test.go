package tests

import (
	"bufio"
	"fmt"
	"io"
	"testing"
	"time"
)

// Issue 22: python3-websockets, an independent RFC 6455 implementation,
// against pxroute over both engines and loops 1 and 2: as a client of a
// websocket listener (text, binary, fragments, ping/pong, close codes),
// and as the server pxroute's ws:// client dials.
func TestWebSocketWithPython(t *testing.T) {
	cases := []struct {
		name    string
		actions []any
		want    []string // the client's result lines, in order
		closed  string   // the close code pxroute counts as received
	}{
		{"text-echoed-as-text-utf-8-intact",
			[]any{[]any{"text", "h\u00e9llo \u2713"}, []any{"recv", 1}, []any{"close", 1000, ""}},
			[]string{`{"recv": "h\u00e9llo \u2713"}`, `{"closed": 1000, "reason": ""}`}, "close_received_1000"},
		{"binary-echoed-byte-for-byte",
			[]any{[]any{"binary", "00ff7f80"}, []any{"recv", 1}, []any{"close", 1000, ""}},
			[]string{`{"recvbin": "00ff7f80"}`, `{"closed": 1000, "reason": ""}`}, "close_received_1000"},
		{"fragments-joined-into-one-message",
			[]any{[]any{"fragments", []string{"frag", "men", "ted"}}, []any{"binfragments", []string{"01", "0203"}},
				[]any{"recv", 2}, []any{"close", 1000, ""}},
			[]string{`{"recv": "fragmented"}`, `{"recvbin": "010203"}`, `{"closed": 1000, "reason": ""}`}, "close_received_1000"},
		{"a-ping-gets-its-pong",
			[]any{[]any{"ping", "c0ffee"}, []any{"close", 1000, ""}},
			[]string{`{"pong": "c0ffee"}`, `{"closed": 1000, "reason": ""}`}, "close_received_1000"},
		{"a-close-code-is-echoed",
			[]any{[]any{"close", 4000, "bye"}},
			[]string{`{"closed": 4000, "reason": ""}`}, "close_received_other"},
	}
	for _, v := range variants() {
		for _, c := range cases {
			t.Run(v.String()+"/"+c.name, func(t *testing.T) {
				r := start(t, v, `
endpoints:
  web: {kind: tcp, listen: "127.0.0.1:0", framing: websocket, path: /echo}
routes:
  - {pattern: echo, members: web}
`)
				client := startWSPeer(t, map[string]any{"connect": "ws://" + r.Addr("web") + "/echo", "actions": c.actions})
				client.expect(t, c.want...)
				client.finish(t)
				waitFor(t, "the close counted", func() bool {
					e := endpoint(r.Stats(), "web")
					return e.Active == 0 && wsCount(r, "web", c.closed) == 1 && wsCount(r, "web", "upgrades") == 1
				})
				if n := errorsOf(r.Stats(), "web"); n != 0 {
					t.Fatalf("errors %d: the python client ended in order", n)
				}
			})
		}
		t.Run(v.String()+"/pxroute-client-to-a-python-server", func(t *testing.T) {
			server := startWSPeer(t, map[string]any{"serve": "127.0.0.1:0"})
			r := start(t, v, fmt.Sprintf(`
endpoints:
  in:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  out: {kind: tcp, connect: %q, framing: websocket}
routes:
  - {pattern: bridge, from: in, to: out}
`, server.bound))
			c := dial(t, r.Addr("in"))
			io.WriteString(c, "one line\nanother, h\u00e9\n")
			rd := bufio.NewReader(c)
			for _, want := range []string{"one line\n", "another, h\u00e9\n"} {
				c.SetReadDeadline(time.Now().Add(ioTimeout))
				if got, err := rd.ReadString('\n'); err != nil || got != want {
					t.Fatalf("echo through python: %q %v, want %q", got, err, want)
				}
			}
			c.Close()
			server.expect(t, `{"peer_closed": 1000, "reason": ""}`)
		})
	}
}
