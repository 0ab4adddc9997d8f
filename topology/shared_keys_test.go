package topology

import (
	"fmt"
	"strings"
	"testing"
)

// A key a topology may write both on an endpoint and on a route is read
// by one validator: the same value is accepted or refused on both sides,
// in the same words, each at its own value's file:line:col.
func TestSharedKeysValidateAlikeOnEndpointsAndRoutes(t *testing.T) {
	const hwmMsgs = "high_water_msgs must be between 1 and 2^32 messages"
	const hwm = "high_water must be between 1 byte and 1TiB"
	for _, tc := range []struct {
		name, key, value string
		want             string // "" : accepted on both sides
	}{
		{"high_water_msgs-zero-is-refused", "high_water_msgs", "0", hwmMsgs},
		{"high_water_msgs-over-2^32-is-refused", "high_water_msgs", "4294967297", hwmMsgs},
		{"high_water_msgs-2^32-is-accepted", "high_water_msgs", "4294967296", ""},
		{"high_water-zero-is-refused", "high_water", "0", hwm},
		{"high_water-over-1TiB-is-refused", "high_water", "2TiB", hwm},
		{"high_water-1TiB-is-accepted", "high_water", "1TiB", ""},
		{"overflow-near-miss-is-refused-with-a-suggestion", "overflow", "drop-new",
			`unknown overflow policy "drop-new": want one of [block drop-newest drop-oldest disconnect] (did you mean "drop-newest"?)`},
		{"overflow-unknown-is-refused", "overflow", "whenever",
			`unknown overflow policy "whenever": want one of [block drop-newest drop-oldest disconnect]`},
		{"overflow-block-is-accepted", "overflow", "block", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := fmt.Sprintf(`
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines, %[1]s: %[2]s}
routes:
  - {pattern: fanout, from: pub, to: subs, %[1]s: %[2]s}
`, tc.key, tc.value)
			_, err := Load("t.yaml", []byte(src))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			lines := strings.Split(src, "\n")
			var want []string
			for _, ln := range []int{4, 6} {
				col := strings.Index(lines[ln-1], tc.key+": "+tc.value) + len(tc.key) + 3
				want = append(want, fmt.Sprintf("t.yaml:%d:%d: %s", ln, col, tc.want))
			}
			if err == nil {
				t.Fatalf("accepted; want\n%s", strings.Join(want, "\n"))
			}
			if got := err.Error(); got != strings.Join(want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
			}
		})
	}
}
