package opcodes

import (
	"strings"
	"testing"
)

// A room hands out each name once: a second claim gets "#2", a third
// "#3", suffixes fit maxName on a character boundary, and a released name
// is free again.
func TestRoomNamesAreUnique(t *testing.T) {
	long := strings.Repeat("\U0001F600", 16) // 64 bytes: the most a name holds
	for _, tc := range []struct {
		name   string
		claims []string
		free   string // released after the claims, then claimed again
		want   []string
	}{
		{"first-claim-keeps-its-name", []string{"alice", "bob"}, "", []string{"alice", "bob"}},
		{"duplicates-count-up", []string{"alice", "alice", "alice"}, "", []string{"alice", "alice#2", "alice#3"}},
		{"a-taken-suffix-is-skipped", []string{"alice#2", "alice", "alice"}, "", []string{"alice#2", "alice", "alice#3"}},
		{"a-suffix-on-a-suffixed-name", []string{"a#2", "a#2"}, "", []string{"a#2", "a#2#2"}},
		{"suffix-cuts-a-full-name-on-a-character", []string{long, long}, "", []string{long, strings.Repeat("\U0001F600", 15) + "#2"}},
		{"released-name-is-free-again", []string{"alice", "alice"}, "alice", []string{"alice", "alice#2", "alice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var room roomNames
			var got []string
			for _, c := range tc.claims {
				got = append(got, string(room.claim([]byte(c))))
			}
			if tc.free != "" {
				room.release([]byte(tc.free))
				got = append(got, string(room.claim([]byte(tc.free))))
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("claims gave %q, want %q", got, tc.want)
			}
			for _, n := range got {
				if len(n) > maxName {
					t.Fatalf("%q is over %d bytes", n, maxName)
				}
			}
		})
	}
}
