package topology

import "testing"

// heartbeat_interval, heartbeat_timeout and heartbeat_ttl: each mistake
// an error at its key, FILE:LINE:COL: message.
func TestZMTPHeartbeatKeyErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want []string
	}{
		{"bad-values-and-framings", `
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, heartbeat_interval: 0s}
  b: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, heartbeat_timeout: 1s}
  c: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, heartbeat_ttl: 1s}
  d: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, heartbeat_interval: 1s, heartbeat_ttl: 50ms}
  e: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, heartbeat_interval: 1s, heartbeat_ttl: 2h}
  f: {kind: tcp, listen: "127.0.0.1:0", framing: lines, heartbeat_interval: 1s}
  g: {kind: tcp, listen: "127.0.0.1:0", heartbeat_ttl: 1s}
  h: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, heartbeat_interval: soon}
  i: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, heartbeat_interval: 1s, heartbeat_timeout: 0s}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: [a, b, c, d, e, f, g, h, i], to: out}
`, []string{
			`t.yaml:3:90: heartbeat_interval must be at least 1ms`,
			`t.yaml:4:89: heartbeat_timeout bounds the wait after our PINGs: it needs heartbeat_interval`,
			`t.yaml:5:85: heartbeat_ttl is sent in our PINGs: it needs heartbeat_interval`,
			`t.yaml:6:109: heartbeat_ttl must be between 100ms and 1h49m13.5s`,
			`t.yaml:7:109: heartbeat_ttl must be between 100ms and 1h49m13.5s`,
			`t.yaml:8:77: heartbeat_interval applies to framing zmtp, not "lines"`,
			`t.yaml:9:56: heartbeat_ttl applies to framing zmtp; add framing: zmtp`,
			`t.yaml:10:90: heartbeat_interval: bad duration "soon"`,
			`t.yaml:11:113: heartbeat_timeout must be at least 1ms`,
		}},
		{"good-keys", `
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, heartbeat_interval: 1s, heartbeat_timeout: 3s, heartbeat_ttl: 10s}
  b: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: a, to: b}
`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("t.yaml", []byte(tc.yaml))
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErrors(t, err, tc.want)
		})
	}
}
