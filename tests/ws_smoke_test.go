package tests

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// framing: websocket end to end: a Go WebSocket client (ws_client_test.go)
// against pxroute's listener, relayed with a lines endpoint; refusals of
// the upgrade; protocol errors and their close codes; pings; pxroute as
// a client of its own listener; wss.

// wsCount is one of an endpoint's session counts (Stats' Session).
func wsCount(r *router.Router, name, key string) uint64 {
	for _, e := range r.Stats().Endpoints {
		if e.Name == name {
			return e.Session[key]
		}
	}
	return 0
}

// wsBalanced checks Offered = MsgsOut + drops + QueuedMsgs on each
// endpoint named.
func wsBalanced(t *testing.T, r *router.Router, names ...string) {
	t.Helper()
	for _, n := range names {
		waitFor(t, n+" balanced", func() bool {
			e := endpoint(r.Stats(), n)
			var drops uint64
			for _, d := range e.Drops {
				drops += d
			}
			return e.Offered == e.MsgsOut+drops+uint64(e.Queued)
		})
	}
}

const wsRelayYAML = `
endpoints:
  web:  {kind: tcp, listen: "127.0.0.1:0", framing: websocket, path: /chat, subprotocols: [chat], page: true, max_frame: 64KiB%s}
  term: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: [web, term]}
`

// TestWebSocketRelayLines: a line from a TCP client arrives in a
// WebSocket client as one text message and back; a fragmented message
// with a ping inside arrives whole after the pong; binary crosses as its
// bytes; the close handshake echoes 1000. Counted: one upgrade, one
// close each way, and every message.
func TestWebSocketRelayLines(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(wsRelayYAML, ""))
			w := wsDial(t, r.Addr("web"), "/chat?room=1", "Sec-WebSocket-Protocol: other, chat")
			tc := dial(t, r.Addr("term"))
			waitFor(t, "members", func() bool { return endpoint(r.Stats(), "web").Active == 1 && endpoint(r.Stats(), "term").Active == 1 })
			tr := bufio.NewReader(tc)

			io.WriteString(tc, "hello from tcp\n")
			if op, p := w.message(t); op != 1 || p != "hello from tcp" {
				t.Fatalf("websocket got op %d %q, want text %q", op, p, "hello from tcp")
			}
			w.send(t, 1, "hi from ws κόσμε")
			if got := readLines(t, tr, 1)[0]; got != "hi from ws κόσμε" {
				t.Fatalf("tcp got %q", got)
			}
			w.frame(t, false, 1, []byte("frag"), false)
			w.frame(t, true, 9, []byte("p"), false)
			w.frame(t, true, 0, []byte("ment"), false)
			if f := w.read(t); f.op != 10 || string(f.p) != "p" {
				t.Fatalf("want pong p, got op %d %q", f.op, f.p)
			}
			if got := readLines(t, tr, 1)[0]; got != "fragment" {
				t.Fatalf("tcp got %q, want the fragments joined", got)
			}
			w.send(t, 2, "\x00\x01bin")
			if got := readLines(t, tr, 1)[0]; got != "\x00\x01bin" {
				t.Fatalf("tcp got %q", got)
			}
			io.WriteString(tc, "latin1 \xe9\n")
			if op, p := w.message(t); op != 2 || p != "latin1 \xe9" {
				t.Fatalf("a line that is not UTF-8 should go as binary: op %d %q", op, p)
			}
			w.frame(t, true, 8, []byte{0x03, 0xe8, 'b', 'y', 'e'}, false)
			if code := w.closeCode(t); code != 1000 {
				t.Fatalf("close echoed %d, want 1000", code)
			}
			if !w.ended(t) {
				t.Fatal("connection not ended after the close handshake")
			}
			waitFor(t, "close counted", func() bool { return wsCount(r, "web", "close_received_1000") == 1 })
			for key, want := range map[string]uint64{"upgrades": 1, "close_sent_1000": 1, "close_received_1000": 1, "refused_path": 0} {
				if got := wsCount(r, "web", key); got != want {
					t.Errorf("%s = %d, want %d", key, got, want)
				}
			}
			wsBalanced(t, r, "web", "term")
			if e := endpoint(r.Stats(), "term"); e.MsgsOut != 3 {
				t.Errorf("term MsgsOut %d, want 3", e.MsgsOut)
			}
		})
	}
}

// TestWebSocketRefusals: each refused or served request gets its HTTP
// status, ends its connection, and is counted by reason.
func TestWebSocketRefusals(t *testing.T) {
	cases := []struct {
		name, path string
		headers    []string
		raw        string // sent instead of an upgrade request
		status     int
		count      string
		check      func(t *testing.T, rep wsReply)
	}{
		{name: "other path", path: "/nope", status: 404, count: "refused_path"},
		{name: "version 8", path: "/chat", headers: []string{"Sec-WebSocket-Version: 8"}, status: 426, count: "refused_version",
			check: func(t *testing.T, rep wsReply) {
				if v := rep.header.Get("Sec-WebSocket-Version"); v != "13" {
					t.Errorf("426 says Sec-WebSocket-Version %q, want 13", v)
				}
			}},
		{name: "foreign origin", path: "/chat", headers: []string{"Origin: http://evil.example"}, status: 403, count: "refused_origin"},
		{name: "no key", path: "/chat", headers: []string{"Sec-WebSocket-Key: "}, status: 400, count: "bad_request"},
		{name: "short key", path: "/chat", headers: []string{"Sec-WebSocket-Key: c2hvcnQ="}, status: 400, count: "bad_request"},
		{name: "post", raw: "POST /chat HTTP/1.1\r\nHost: x\r\n\r\n", status: 405, count: "refused_method"},
		{name: "garbage", raw: "HELLO\r\n\r\n", status: 400, count: "bad_request"},
		{name: "plain GET of the page", raw: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", status: 200, count: "page",
			check: func(t *testing.T, rep wsReply) {
				if ct := rep.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(rep.body, "<html") {
					t.Errorf("page: %q %q", ct, rep.body)
				}
			}},
		{name: "plain GET of the upgrade path", raw: "GET /chat HTTP/1.1\r\nHost: x\r\n\r\n", status: 426, count: "refused_not_upgrade"},
		// One byte over max_header_bytes (8KiB), no more: what a reply
		// leaves unread would make the close a reset, losing the reply.
		{name: "header flood", raw: ("GET /chat HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Flood: 0123456789abcdef0123456789abcdef\r\n", 300))[:8<<10+1], status: 431, count: "header_too_large"},
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(wsRelayYAML, ""))
			for i, tc := range cases {
				c := dial(t, r.Addr("web"))
				var w *wsClient
				var rep wsReply
				if tc.raw != "" {
					io.WriteString(c, tc.raw)
					w = &wsClient{c: c, br: bufio.NewReader(c)}
					rep = w.readReply(t, "")
				} else {
					w, rep = wsUpgrade(t, c, tc.path, tc.headers...)
				}
				if rep.status != tc.status {
					t.Fatalf("%s: status %d (%q), want %d", tc.name, rep.status, rep.body, tc.status)
				}
				if tc.check != nil {
					tc.check(t, rep)
				}
				if !w.ended(t) {
					t.Fatalf("%s: connection not ended after the reply", tc.name)
				}
				waitFor(t, tc.name+" counted", func() bool { return wsCount(r, "web", tc.count) >= 1 })
				if i == 0 && wsCount(r, "web", "upgrades") != 0 {
					t.Fatal("a refusal counted as an upgrade")
				}
			}
			// The page's own origin (the Host it was loaded from) is
			// allowed without origins:.
			addr := r.Addr("web")
			wsDial(t, addr, "/chat", "Origin: http://"+addr, "Host: "+addr)
			waitFor(t, "upgrade counted", func() bool { return wsCount(r, "web", "upgrades") == 1 })
			if e := r.Stats(); errorsOf(e, "web") != 0 {
				t.Errorf("refusals counted as errors: %d", errorsOf(e, "web"))
			}
		})
	}
}

// TestWebSocketProtocolErrors: a client frame RFC 6455 refuses fails
// that connection alone with its close code, counted; another client on
// the same listener goes on.
func TestWebSocketProtocolErrors(t *testing.T) {
	big := []byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4} // masked, length 2^63
	cases := []struct {
		name string
		send func(t *testing.T, w *wsClient)
		code uint16
	}{
		{"unmasked frame", func(t *testing.T, w *wsClient) { w.frame(t, true, 1, []byte("x"), true) }, 1002},
		{"reserved bit", func(t *testing.T, w *wsClient) { w.frame(t, true, 0x41, []byte("x"), false) }, 1002},
		{"unknown opcode", func(t *testing.T, w *wsClient) { w.frame(t, true, 3, nil, false) }, 1002},
		{"ping over 125", func(t *testing.T, w *wsClient) { w.frame(t, true, 9, make([]byte, 126), false) }, 1002},
		{"invalid UTF-8", func(t *testing.T, w *wsClient) { w.frame(t, true, 1, []byte("a\xc0\xafb"), false) }, 1007},
		{"UTF-8 cut across fragments", func(t *testing.T, w *wsClient) {
			w.frame(t, false, 1, []byte("κ\xcf"), false)
			w.frame(t, true, 0, []byte("x"), false)
		}, 1007},
		// The header alone: it is refused before its payload arrives, and
		// bytes left unread at the close would make it a reset.
		{"over max_frame", func(t *testing.T, w *wsClient) { w.c.Write([]byte{0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 1, 1, 2, 3, 4}) }, 1009},
		{"length 2^63", func(t *testing.T, w *wsClient) { w.c.Write(big) }, 1009},
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(wsRelayYAML, ""))
			good := wsDial(t, r.Addr("web"), "/chat")
			for i, tc := range cases {
				w := wsDial(t, r.Addr("web"), "/chat")
				tc.send(t, w)
				if code := w.closeCode(t); code != tc.code {
					t.Fatalf("%s: close %d, want %d", tc.name, code, tc.code)
				}
				if !w.ended(t) {
					t.Fatalf("%s: not ended", tc.name)
				}
				waitFor(t, tc.name+" counted", func() bool { return errorsOf(r.Stats(), "web") == uint64(i+1) })
			}
			for key, want := range map[string]uint64{"close_sent_1002": 4, "close_sent_1007": 2, "close_sent_1009": 2} {
				if got := wsCount(r, "web", key); got != want {
					t.Errorf("%s = %d, want %d", key, got, want)
				}
			}
			tc := dial(t, r.Addr("term"))
			waitFor(t, "term", func() bool { return endpoint(r.Stats(), "term").Active == 1 })
			io.WriteString(tc, "still here\n")
			if _, p := good.message(t); p != "still here" {
				t.Fatalf("the good client got %q", p)
			}
		})
	}
}

// TestWebSocketPingInterval: with ping_interval a client gets pings; one
// that answers stays; one silent for two intervals after a ping is
// closed with 1001, counted.
func TestWebSocketPingInterval(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(wsRelayYAML, ", ping_interval: 40ms"))
			w := wsDial(t, r.Addr("web"), "/chat")
			for range 3 {
				f := w.read(t)
				if f.op != 9 {
					t.Fatalf("want a ping, got op %d", f.op)
				}
				w.frame(t, true, 10, f.p, false)
			}
			if wsCount(r, "web", "ping_timeout") != 0 {
				t.Fatal("a client that answers timed out")
			}
			// Now silent: pings, then the close.
			if code := w.closeCode(t); code != 1001 {
				t.Fatalf("close %d, want 1001", code)
			}
			if !w.ended(t) {
				t.Fatal("not ended")
			}
			waitFor(t, "ping_timeout counted", func() bool { return wsCount(r, "web", "ping_timeout") == 1 })
		})
	}
}

// TestWebSocketClientRole: pxroute's connect: ws:// endpoint upgrades to
// a pxroute WebSocket listener (its frames masked, the listener refusing
// any that are not) and carries lines both ways.
func TestWebSocketClientRole(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			server := start(t, v, fmt.Sprintf(wsRelayYAML, ""))
			client := start(t, v, fmt.Sprintf(`
endpoints:
  up:    {kind: tcp, connect: "ws://%s/chat", framing: websocket, subprotocols: [chat]}
  local: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: [up, local]}
`, server.Addr("web")))
			waitFor(t, "client upgraded", func() bool {
				return wsCount(client, "up", "upgrades") == 1 && wsCount(server, "web", "upgrades") == 1
			})
			lc := dial(t, client.Addr("local"))
			tc := dial(t, server.Addr("term"))
			waitFor(t, "ends", func() bool {
				return endpoint(client.Stats(), "local").Active == 1 && endpoint(server.Stats(), "term").Active == 1
			})
			io.WriteString(lc, "up the socket\n")
			if got := readLines(t, bufio.NewReader(tc), 1)[0]; got != "up the socket" {
				t.Fatalf("term got %q", got)
			}
			io.WriteString(tc, strings.Repeat("d", 70000)+"\n")
			if got := readLines(t, bufio.NewReader(lc), 1)[0]; got != strings.Repeat("d", 70000)[:len(got)] || len(got) != 70000 {
				t.Fatalf("local got %d bytes", len(got))
			}
			if errorsOf(server.Stats(), "web") != 0 || errorsOf(client.Stats(), "up") != 0 {
				t.Fatal("errors on the WebSocket ends")
			}
		})
	}
}

// TestWebSocketTLS: framing websocket over tls: (wss) with a Go TLS
// client, and pxroute's wss:// client to it.
func TestWebSocketTLS(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(wsRelayYAML, fmt.Sprintf(", tls: {cert: %q, key: %q}", cert, key)))
			w := wsDialTLS(t, r.Addr("web"), "/chat", &tls.Config{RootCAs: pki.pool, ServerName: "localhost"})
			_, port, _ := strings.Cut(r.Addr("web"), ":")
			client := start(t, v, fmt.Sprintf(`
endpoints:
  up:    {kind: tcp, connect: "wss://localhost:%s/chat", framing: websocket, tls: {ca: %q}}
  local: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: [up, local]}
`, port, pki.caPath))
			waitFor(t, "wss client upgraded", func() bool { return wsCount(client, "up", "upgrades") == 1 })
			lc := dial(t, client.Addr("local"))
			waitFor(t, "local", func() bool { return endpoint(client.Stats(), "local").Active == 1 })
			io.WriteString(lc, "over wss\n")
			if op, p := w.message(t); op != 1 || p != "over wss" {
				t.Fatalf("wss client got op %d %q", op, p)
			}
			w.send(t, 1, "back over wss")
			if got := readLines(t, bufio.NewReader(lc), 1)[0]; got != "back over wss" {
				t.Fatalf("local got %q", got)
			}
		})
	}
}

// TestWebSocketHeaderTimeout: a request dribbled a byte at a time is
// closed at header_timeout, however steadily the bytes come, counted in
// errors; a client that upgraded meanwhile is not affected.
func TestWebSocketHeaderTimeout(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(wsRelayYAML, ", header_timeout: 300ms"))
			c := dial(t, r.Addr("web"))
			stop := make(chan struct{})
			dribbled := make(chan int)
			go func() {
				n := 0
				defer func() { dribbled <- n }()
				req := "GET /chat HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("z", 1000)
				tick := time.NewTicker(10 * time.Millisecond)
				defer tick.Stop()
				for ; n < len(req); n++ {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					if _, err := c.Write([]byte{req[n]}); err != nil {
						return
					}
				}
			}()
			w := &wsClient{c: c, br: bufio.NewReader(c)}
			ended := w.ended(t)
			close(stop)
			n := <-dribbled
			if !ended {
				t.Fatal("the dribbling client was not closed")
			}
			if n >= 1000 {
				t.Fatalf("all %d bytes were taken: no timeout", n)
			}
			waitFor(t, "timeout counted", func() bool { return errorsOf(r.Stats(), "web") == 1 })
			good := wsDial(t, r.Addr("web"), "/chat")
			good.send(t, 9, "")
			if f := good.read(t); f.op != 10 {
				t.Fatalf("want a pong, got op %d", f.op)
			}
		})
	}
}

// TestWebSocketFanoutAndRelay: length-prefixed messages fan out to
// WebSocket subscribers (message: binary) byte for byte, empty and over
// 64 KiB included; between two WebSocket clients of one relay, text stays
// text and binary binary (frames pass unchanged). Every destination
// balances.
func TestWebSocketFanoutAndRelay(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, `
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: length-prefix}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: websocket, message: binary}
  room: {kind: tcp, listen: "127.0.0.1:0", framing: websocket}
routes:
  - {pattern: fanout, from: pub, to: subs}
  - {pattern: relay, members: [room]}
`)
			var subs []*wsClient
			for range 3 {
				subs = append(subs, wsDial(t, r.Addr("subs"), "/"))
			}
			waitFor(t, "subscribers", func() bool { return endpoint(r.Stats(), "subs").Active == 3 })
			msgs := [][]byte{{}, []byte("\x00\xff binary"), bytes.Repeat([]byte{0xc0}, 70000), []byte("text-like")}
			pc := dial(t, r.Addr("pub"))
			for _, m := range msgs {
				pc.Write(frame(m))
			}
			for i, s := range subs {
				for j, m := range msgs {
					if op, p := s.message(t); op != 2 || p != string(m) {
						t.Fatalf("subscriber %d message %d: op %d, %d bytes, want binary %d", i, j, op, len(p), len(m))
					}
				}
			}
			a, b := wsDial(t, r.Addr("room"), "/"), wsDial(t, r.Addr("room"), "/")
			waitFor(t, "room", func() bool { return endpoint(r.Stats(), "room").Active == 2 })
			a.send(t, 1, "text κ")
			a.send(t, 2, "\xffbin")
			if op, p := b.message(t); op != 1 || p != "text κ" {
				t.Fatalf("relayed text: op %d %q", op, p)
			}
			if op, p := b.message(t); op != 2 || p != "\xffbin" {
				t.Fatalf("relayed binary: op %d %q", op, p)
			}
			wsBalanced(t, r, "subs", "room")
			if e := endpoint(r.Stats(), "subs"); e.MsgsOut != 12 {
				t.Fatalf("subs MsgsOut %d, want 12", e.MsgsOut)
			}
		})
	}
}
