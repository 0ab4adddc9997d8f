package topology

import (
	"strings"
	"testing"
)

// sanitize: is a relay's, a boolean, and on by default where names: is.
func TestRelaySanitizeKey(t *testing.T) {
	const eps = `
endpoints:
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  out:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
`
	for _, tc := range []struct {
		name, route string
		want        string // an error's beginning, or "sanitize"/"raw" for the main edge
	}{
		{"names-sanitize-by-default", `  - {pattern: relay, members: [chat, out], names: first-message}`, "sanitize"},
		{"no-names-no-sanitize-by-default", `  - {pattern: relay, members: [chat, out]}`, "raw"},
		{"sanitize-without-names", `  - {pattern: relay, members: [chat, out], sanitize: true}`, "sanitize"},
		{"names-with-sanitize-off", `  - {pattern: relay, members: [chat, out], names: address, sanitize: false}`, "raw"},
		{"not-a-boolean", `  - {pattern: relay, members: [chat, out], sanitize: yes please}`, "t.yaml:6:54: want true or false"},
		{"not-a-relay", `  - {pattern: fanout, from: chat, to: out, sanitize: true}`, "t.yaml:6:44: sanitize: is for [relay] routes, not fanout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load("t.yaml", []byte(eps+tc.route+"\n"))
			if tc.want != "sanitize" && tc.want != "raw" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
					t.Fatalf("got error %v, want %s", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Prog.Edges[0].Sanitize; got != (tc.want == "sanitize") {
				t.Fatalf("main edge sanitizes: %v, want %s", got, tc.want)
			}
		})
	}
}
