package topology

import (
	"testing"
)

// The request/reply and send-buffer keys are checked with positions.
func TestRequestKeysAreValidated(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"bad-values", `
endpoints:
  c: {kind: tcp, listen: "127.0.0.1:0", framing: lines, sndbuf: 10}
  w: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_outstanding: 0, reply_timeout: 0s}
routes:
  - {pattern: request, from: c, to: w}
`, []string{
			"t.yaml:3:65: sndbuf must be between 1KiB and 1GiB",
			"t.yaml:4:74: max_outstanding must be at least 1 request",
			"t.yaml:4:92: reply_timeout must be at least 1ms",
		}},
		{"not-a-worker", `
endpoints:
  c: {kind: tcp, listen: "127.0.0.1:0", framing: lines, reply_timeout: 1s}
  w: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_outstanding: 4}
routes:
  - {pattern: balance, from: c, to: w}
`, []string{
			"t.yaml:3:3: c: max_outstanding and reply_timeout apply to the workers (to:) of a request route",
			"t.yaml:4:3: w: max_outstanding and reply_timeout apply to the workers (to:) of a request route",
		}},
		{"sndbuf-on-a-datagram-or-file", `
endpoints:
  u: {kind: unix, listen: "@pxr-sndbuf-test", type: datagram, sndbuf: 4KiB}
  f: {kind: file, path: /tmp/x, mode: append, sndbuf: 4KiB}
routes:
  - {pattern: forward, from: u, to: f}
`, []string{
			"t.yaml:3:71: sndbuf applies to stream sockets",
			`t.yaml:4:47: unknown key "sndbuf"`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("t.yaml", []byte(tc.yaml))
			wantErrors(t, err, tc.want)
		})
	}
}
