package topology

import (
	"strings"
	"testing"
)

// Issue 17 item 9: mistakes a new user makes, each with an error that
// says where and what to do. Each case lists every error, in order, as
// FILE:LINE:COL: message (a message may be a prefix).
var friendlyErrors = []struct {
	name string
	yaml string
	want []string
}{
	{"two-listeners-on-one-address", `
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:7000", framing: lines}
  b: {kind: tcp, listen: "127.0.0.1:7000", framing: lines}
  c: {kind: tcp, listen: "0.0.0.0:7001", framing: lines}
  d: {kind: tcp, listen: "127.0.0.1:7001", framing: lines}
  e: {kind: udp, listen: "127.0.0.1:7000"}
  f: {kind: udp, listen: "[::ffff:127.0.0.1]:7000"}
  g: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  h: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: [a, b, c, d, g, h]}
  - {pattern: merge, from: [e, f], to: a}
`, []string{
		`t.yaml:4:26: endpoints a and b (t.yaml:3:26) both listen on tcp 127.0.0.1:7000: one address takes one listener`,
		`t.yaml:6:26: endpoints c and d (t.yaml:5:26) both listen on tcp port 7001 (0.0.0.0:7001 and 127.0.0.1:7001 overlap)`,
		`t.yaml:8:26: endpoints e and f (t.yaml:7:26) both listen on udp 127.0.0.1:7000`,
	}},
	{"one-path-twice", `
endpoints:
  s1:  {kind: unix, listen: /tmp/pxroute-t.sock, framing: lines}
  s2:  {kind: unix, listen: /tmp/pxroute-t.sock, framing: lines}
  in:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  l1:  {kind: file, path: /tmp/pxroute-t.log, mode: append}
  l2:  {kind: file, path: /tmp/pxroute-t.log, mode: truncate}
  r1:  {kind: file, path: /tmp/pxroute-t.log, mode: follow, framing: lines}
routes:
  - {pattern: relay, members: [s1, s2]}
  - {pattern: fanout, from: in, to: [l1, l2]}
  - {pattern: fanout, from: r1, to: l1}
`, []string{
		`t.yaml:4:29: endpoints s1 and s2 (t.yaml:3:29) both use /tmp/pxroute-t.sock: two endpoints cannot create or write one path`,
		`t.yaml:7:27: endpoints l1 and l2 (t.yaml:6:27) both use /tmp/pxroute-t.log`,
	}},
	{"connect-needs-a-host-and-ports-have-a-range", `
endpoints:
  a: {kind: tcp, connect: ":9090", framing: lines}
  b: {kind: tcp, connect: "127.0.0.1:0", framing: lines}
  c: {kind: tcp, listen: "127.0.0.1:70000", framing: lines}
  d: {kind: udp, connect: "127.0.0.1:65536"}
  e: {kind: tcp, listen: "127.0.0.1:http", framing: lines}
routes:
  - {pattern: merge, from: [c, e], to: a}
  - {pattern: forward, from: d, to: b}
`, []string{
		`t.yaml:3:27: connect address ":9090" needs a host: the peer's address or name, such as 127.0.0.1:9090 for this machine`,
		`t.yaml:4:27: connect address "127.0.0.1:0": port "0" out of range: want 1–65535`,
		`t.yaml:5:26: listen address "127.0.0.1:70000": port "70000" out of range: want 1–65535, or 0 for any free port`,
		`t.yaml:6:27: connect address "127.0.0.1:65536": port "65536" out of range: want 1–65535`,
		`t.yaml:7:26: listen address "127.0.0.1:http": port "http": want a number 1–65535, or 0 for any free port`,
	}},
	{"tab-in-indentation", "endpoints:\n  a: {kind: tcp, listen: \"127.0.0.1:0\", framing: lines}\n\troutes: []\n", []string{
		`t.yaml:3:1: tabs are not allowed for indentation in YAML; use spaces`,
	}},
	{"tab-after-spaces", "endpoints:\n  a:\n   \tkind: tcp\nroutes: []\n", []string{
		`t.yaml:3:4: tabs are not allowed for indentation in YAML; use spaces`,
	}},
	{"did-you-mean", `
engine: epol
endpionts: {}
endpoints:
  a: {kind: tpc, listen: "127.0.0.1:0"}
  b: {kind: tcp, listen: "127.0.0.1:0", framing: line, max_frme: 4KiB}
  c: {kind: tcp, listen: "127.0.0.1:0", framing: length}
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: rely, members: [chat]}
  - {pattern: echo, member: [c]}
  - {pattern: fanout, from: b, to: chat, overflow: drop-new}
  - {pattern: relay, members: [chta], names: adress}
`, []string{
		`t.yaml:2:9: unknown engine "epol": want auto, io_uring or epoll (did you mean "epoll"?)`,
		`t.yaml:3:1: unknown key "endpionts": want loops, engine, drain_timeout, busy_poll, admin, admin_public, admin_token_file, admin_tls, endpoints or routes (did you mean "endpoints"?)`,
		`t.yaml:5:3: endpoint "a" is not used by any route`,
		`t.yaml:5:13: unknown endpoint kind "tpc": want one of [device exec fifo file inproc nats pty stdin stdout tcp udp unix] (did you mean "tcp"?)`,
		`t.yaml:6:50: unknown framing "line": want one of [raw lines delimiter length-prefix datagram zmtp websocket] (did you mean "lines"?)`,
		`t.yaml:6:56: unknown key "max_frme" for this endpoint: want one of [`,
		`t.yaml:7:3: endpoint "c" is not used by any route`,
		`t.yaml:7:50: unknown framing "length": want one of [raw lines delimiter length-prefix datagram zmtp websocket] (did you mean "length-prefix"?)`,
		`t.yaml:10:15: unknown pattern "rely": want one of [bridge forward fanout relay echo balance merge request] (did you mean "relay"?)`,
		`t.yaml:11:5: echo needs members: with at least 1 endpoint(s)`,
		`t.yaml:11:21: unknown route key "member": want one of [pattern from to members tap overflow high_water high_water_msgs pick topics in_band names notices sanitize name] (did you mean "members"?)`,
		`t.yaml:12:52: unknown overflow policy "drop-new": want one of [block drop-newest drop-oldest disconnect] (did you mean "drop-newest"?)`,
		`t.yaml:13:32: unknown endpoint "chta" (did you mean "chat"?)`,
		`t.yaml:13:46: unknown names "adress": want one of [none address first-message] (did you mean "address"?)`,
	}},
	{"merge-keys-are-refused", `
endpoints:
  a: &lines {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  b:
    <<: *lines
    listen: "127.0.0.1:0"
routes:
  - {pattern: relay, members: [a, b]}
`, []string{
		`t.yaml:4:3: endpoint "b" needs kind:`,
		`t.yaml:5:5: merge keys (<<) are not supported: write each setting where it applies`,
	}},
}

func TestFriendlyErrors(t *testing.T) {
	for _, tc := range friendlyErrors {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("t.yaml", []byte(tc.yaml))
			wantErrors(t, err, tc.want)
		})
	}
}

// Nothing near enough, nothing suggested: a suggestion that is wrong is
// worse than none.
func TestDidYouMeanStaysQuietWhenNothingIsNear(t *testing.T) {
	for _, tc := range []struct {
		s    string
		list []string
		want string
	}{
		{"epol", Engines(), ` (did you mean "epoll"?)`},
		{"xyz", Engines(), ""},
		{"a", []string{"b", "c"}, ""},
		{"tpc", []string{"tcp", "udp"}, ` (did you mean "tcp"?)`},
		{"length", []string{"lines", "length-prefix"}, ` (did you mean "length-prefix"?)`},
		{"teleport", Patterns(), ""},
		{strings.Repeat("x", 100), []string{strings.Repeat("x", 99)}, ""},
	} {
		if got := didYouMean(tc.s, tc.list); got != tc.want {
			t.Errorf("didYouMean(%.10q) = %q, want %q", tc.s, got, tc.want)
		}
	}
}
