package topology

import "testing"

// framing: websocket's keys, each mistake an error at its key:
// FILE:LINE:COL: message (a prefix).
var wsErrors = []struct {
	name string
	yaml string
	want []string
}{
	{"keys-roles-and-urls", `
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", framing: websocket, message: utf8}
  b: {kind: tcp, listen: "127.0.0.1:0", framing: lines, origins: ["http://x"], ping_interval: 1s}
  c: {kind: tcp, listen: "127.0.0.1:0", page: true}
  d: {kind: tcp, connect: "127.0.0.1:80", framing: websocket}
  e: {kind: tcp, connect: "ws://127.0.0.1:80/x", framing: lines}
  f: {kind: tcp, connect: "ws://127.0.0.1:80/x", framing: websocket, page: true, path: /y}
  g: {kind: tcp, connect: "wss://127.0.0.1/x", framing: websocket}
  h: {kind: udp, listen: "127.0.0.1:0", framing: websocket}
  i: {kind: tcp, listen: "127.0.0.1:0", framing: websocket, path: chat, origins: ["evil.example"], subprotocols: ["a b"]}
  j: {kind: tcp, listen: "127.0.0.1:0", framing: websocket, page: true, static: /nonexistent-dir}
  k: {kind: tcp, listen: "127.0.0.1:0", framing: websocket, static: /nonexistent-dir, ping_interval: 1ms, max_header_bytes: 10}
  l: {kind: tcp, listen: "127.0.0.1:0", framing: websocket, max_frame: 1KiB, page: true}
  m: {kind: tcp, listen: "127.0.0.1:0", framing: websocket, max_frame: 1KiB, max_header_bytes: 4KiB, header_timeout: 0s}
  n: {kind: tcp, connect: "ws://127.0.0.1:80/x", framing: websocket, tls: {ca: /etc/ssl/certs/ca-certificates.crt}}
  o: {kind: file, path: /tmp/pxroute-ws-t.log, mode: append, framing: websocket}
  ok: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: merge, from: [a, b, c, d, e, f, g, h, i, j, k, l, m, n], to: ok}
  - {pattern: fanout, from: ok, to: o}
`, []string{
		`t.yaml:3:70: message "utf8": want text or binary`,
		`t.yaml:4:66: origins applies to framing websocket, not "lines"`,
		`t.yaml:4:95: ping_interval applies to framing websocket, not "lines"`,
		`t.yaml:5:47: page applies to framing websocket; add framing: websocket`,
		`t.yaml:6:27: framing websocket connects to a URL: connect: ws://host:port/path (wss:// with tls:)`,
		`t.yaml:7:27: a ws URL needs framing: websocket`,
		`t.yaml:8:76: page applies to a websocket listener (listen:); a client's path is in connect: ws://host:port/path`,
		`t.yaml:8:88: path applies to a websocket listener (listen:); a client's path is in connect: ws://host:port/path`,
		`t.yaml:9:27: wss:// needs tls: on this endpoint (the server name is the URL's host)`,
		`t.yaml:10:50: framing websocket works on tcp and unix stream endpoints`,
		`t.yaml:10:50: udp sockets carry one message per datagram: framing must be datagram (or left out), not "websocket"`,
		`t.yaml:11:67: path "chat": want an absolute URL path such as /chat (no query)`,
		`t.yaml:11:82: origin "evil.example": want scheme://host[:port] (http or https), as a browser sends it, or "*"`,
		`t.yaml:11:114: subprotocol "a b": want an HTTP token (letters, digits, -._~ and the like; no spaces or commas)`,
		`t.yaml:12:81: set page: true or static:, not both`,
		`t.yaml:13:69: static "/nonexistent-dir": not a directory`,
		`t.yaml:13:102: ping_interval must be at least 10ms`,
		`t.yaml:13:125: max_header_bytes must be between 256 bytes and 1MiB`,
		`t.yaml:14:84: the built-in page (`, // then its size, which follows the page
		`t.yaml:15:118: header_timeout must be at least 1ms`,
		`t.yaml:16:27: ws:// with tls: is wss://: write wss://`,
		`t.yaml:17:71: framing websocket works on tcp and unix stream endpoints`,
	}},
	{"path is not a key of other framings", `
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", framing: lines, path: /chat}
  f: {kind: file, path: /tmp/pxroute-ws-t2.log, mode: append}
routes:
  - {pattern: fanout, from: a, to: f}
`, []string{
		`t.yaml:3:57: unknown key "path" for this endpoint`,
	}},
	{"bad URLs", `
endpoints:
  a: {kind: tcp, connect: "ws://:80/x", framing: websocket}
  b: {kind: tcp, connect: "ws://127.0.0.1:99999/x", framing: websocket}
  c: {kind: tcp, connect: "ws://u:p@127.0.0.1:80/x", framing: websocket}
  ok: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: merge, from: [a, b, c], to: ok}
`, []string{
		`t.yaml:3:27: connect "ws://:80/x": want ws://host:port/path or wss://host:port/path`,
		`t.yaml:4:27: address "127.0.0.1:99999": bad port`,
		`t.yaml:5:27: connect "ws://u:p@127.0.0.1:80/x": want ws://host:port/path or wss://host:port/path`,
	}},
}

func TestWebSocketTopologyErrors(t *testing.T) {
	for _, tc := range wsErrors {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("t.yaml", []byte(tc.yaml))
			wantErrors(t, err, tc.want)
		})
	}
}

// TestWebSocketTopologyLoads: the example, a client, wss with
// tls: and a unix listener load cleanly.
func TestWebSocketTopologyLoads(t *testing.T) {
	_, err := Load("t.yaml", []byte(`
endpoints:
  web:
    kind: tcp
    listen: 127.0.0.1:8080
    framing: websocket
    path: /chat
    origins: ["http://127.0.0.1:8080", "https://chat.example.org"]
    subprotocols: ["chat"]
    message: text
    ping_interval: 30s
    page: true
    max_header_bytes: 4KiB
    header_timeout: 5s
  term: {kind: tcp, listen: 127.0.0.1:7000, framing: lines}
  up: {kind: tcp, connect: "ws://127.0.0.1:8081/feed?x=1", framing: websocket, message: binary}
  sec: {kind: tcp, connect: "wss://localhost:8443/feed", framing: websocket, tls: {}}
  local: {kind: unix, listen: "@pxroute-ws-check", framing: websocket, origins: ["*"]}
routes:
  - {pattern: relay, members: [web, term, up, sec, local]}
`))
	if err != nil {
		t.Fatal(err)
	}
}
