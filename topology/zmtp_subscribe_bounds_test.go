package topology

import (
	"strings"
	"testing"
)

// A sub or xsub's subscribe: list is sent on every (re)connect, so a list
// its own bounds refuse would fail every connection (a control output
// over max_frame closes it) or promise prefixes no bound allows: it is
// refused at load, at the key.
func TestZMTPSubscribeListBounds(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"prefix-over-max-topic-bytes", `
endpoints:
  s: {kind: tcp, connect: "127.0.0.1:9", framing: zmtp, socket: sub, max_topic_bytes: 4, subscribe: ["tick", "tick."]}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: s, to: out}
`, []string{`t.yaml:3:101: subscribe: prefix 2 ("tick.") is 5 bytes, over max_topic_bytes (4)`}},
		{"prefix-over-default-max-topic-bytes", `
endpoints:
  s: {kind: tcp, connect: "127.0.0.1:9", framing: zmtp, socket: xsub, subscribe: ["` + longPrefix + `"]}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: xpub}
routes:
  - {pattern: fanout, from: s, to: out}
`, []string{`t.yaml:3:82: subscribe: prefix 1 ("aaaaaaaaaaaaaaaa"…) is 1025 bytes, over max_topic_bytes (1024)`}},
		{"more-prefixes-than-max-topics", `
endpoints:
  s: {kind: tcp, connect: "127.0.0.1:9", framing: zmtp, socket: sub, max_topics: 2, subscribe: [a, b, c]}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: s, to: out}
`, []string{`t.yaml:3:96: subscribe: 3 prefixes, over max_topics (2)`}},
		{"list-over-max-frame", `
endpoints:
  s: {kind: tcp, connect: "127.0.0.1:9", framing: zmtp, socket: sub, max_frame: 128, subscribe: [a, b, c, d, e, f, g]}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: s, to: out}
`, []string{`t.yaml:3:97: subscribe: the subscriptions sent on connect take`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("t.yaml", []byte(tc.yaml))
			wantErrors(t, err, tc.want)
		})
	}
	ok := `
endpoints:
  s: {kind: tcp, connect: "127.0.0.1:9", framing: zmtp, socket: sub, max_topic_bytes: 5, max_topics: 2, max_frame: 128, subscribe: ["tick.", "news."]}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: s, to: out}
`
	if _, err := Load("t.yaml", []byte(ok)); err != nil {
		t.Errorf("a list within its bounds: %v", err)
	}
}

var longPrefix = strings.Repeat("a", 1025)
