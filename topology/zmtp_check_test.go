package topology

import "testing"

// framing: zmtp's keys and its socket types' positions, each mistake an
// error at its key: FILE:LINE:COL: message (a prefix).
var zmtpErrors = []struct {
	name string
	yaml string
	want []string
}{
	{"keys-and-kinds", `
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp}
  b: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: publisher}
  c: {kind: udp, listen: "127.0.0.1:0", framing: zmtp, socket: pub}
  d: {kind: tcp, listen: "127.0.0.1:0", framing: lines, socket: pub, max_parts: 3}
  e: {kind: tcp, listen: "127.0.0.1:0", socket: pull}
  f: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, subscribe: ["a"]}
  g: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, max_parts: 0}
  h: {kind: file, path: /tmp/pxroute-zmtp-t.log, mode: append, framing: zmtp, socket: push}
  i: {kind: unix, listen: "@pxroute-zmtp-t", type: datagram, framing: zmtp, socket: pull}
  ok: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: merge, from: [a, b, c, d, e, f, g, i], to: ok}
  - {pattern: fanout, from: ok, to: h}
`, []string{
		`t.yaml:3:50: framing zmtp needs socket: one of pub, sub, xpub, xsub, push, pull, req, rep, router, dealer, pair`,
		`t.yaml:4:64: socket "publisher": want one of pub, sub, xpub, xsub, push, pull, req, rep, router, dealer, pair`,
		`t.yaml:5:50: framing zmtp works on tcp and unix stream endpoints`,
		`t.yaml:5:50: udp sockets carry one message per datagram: framing must be datagram (or left out), not "zmtp"`,
		`t.yaml:6:65: socket applies to framing zmtp, not "lines"`,
		`t.yaml:6:81: max_parts applies to framing zmtp, not "lines"`,
		`t.yaml:7:49: socket applies to framing zmtp; add framing: zmtp`,
		`t.yaml:8:81: subscribe applies to zmtp sockets sub and xsub, not pull`,
		`t.yaml:9:81: max_parts must be between 1 and 65536`,
		`t.yaml:10:73: framing zmtp works on tcp and unix stream endpoints`,
		`t.yaml:11:71: unix datagram sockets carry one message per datagram: framing must be datagram (or left out), not "zmtp"`,
	}},
	{"positions", `
endpoints:
  pub: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pub}
  sub: {kind: tcp, connect: "127.0.0.1:5555", framing: zmtp, socket: sub, subscribe: ["tick."]}
  push: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: push}
  pull: {kind: unix, listen: "@pxroute-zmtp-pull", framing: zmtp, socket: pull}
  pair: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pair}
  lines: {kind: tcp, connect: "127.0.0.1:7", framing: lines}
  ok: {kind: tcp, connect: "127.0.0.1:5557", framing: zmtp, socket: sub}
routes:
  - {pattern: fanout, from: pub, to: sub}
  - {pattern: balance, from: push, to: pull}
  - {pattern: bridge, from: pair, to: lines}
  - {pattern: fanout, from: ok, to: pair}
`, []string{
		`t.yaml:11:29: pub is write-only (tcp listen 127.0.0.1:0, zmtp socket pub) and cannot be a source of fanout`,
		`t.yaml:11:38: sub is read-only (tcp connect 127.0.0.1:5555, zmtp socket sub) and cannot receive messages`,
		`t.yaml:12:30: push is write-only (tcp listen 127.0.0.1:0, zmtp socket push) and cannot be a source of balance`,
		`t.yaml:12:40: pull is read-only (unix listen @pxroute-zmtp-pull, zmtp socket pull) and cannot receive messages`,
	}},
}

func TestZMTPTopologyErrors(t *testing.T) {
	for _, tc := range zmtpErrors {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("t.yaml", []byte(tc.yaml))
			wantErrors(t, err, tc.want)
		})
	}
}
