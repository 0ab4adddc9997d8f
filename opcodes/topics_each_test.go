package opcodes

import (
	"slices"
	"testing"
)

// each lists exactly the prefixes held, whatever splits and merges made
// the tree: the upstream union is given them when a destination leaves.
func TestPrefixTreeEach(t *testing.T) {
	cases := []struct {
		name        string
		add, remove []string
		want        []string
	}{
		{name: "empty", want: nil},
		{name: "empty-prefix-and-nested", add: []string{"", "a", "ab", "abc", "b"}, want: []string{"", "a", "ab", "abc", "b"}},
		{name: "split-then-merged", add: []string{"abcd", "abxy", "ab"}, remove: []string{"ab", "abxy"}, want: []string{"abcd"}},
		{name: "all-removed", add: []string{"x", "xy"}, remove: []string{"xy", "x"}, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var tr prefixTree
			for _, p := range tc.add {
				tr.add([]byte(p))
			}
			for _, p := range tc.remove {
				tr.remove([]byte(p))
			}
			var got []string
			tr.each(func(p []byte) { got = append(got, string(p)) })
			slices.Sort(got)
			if !slices.Equal(got, tc.want) || len(got) != tr.len() {
				t.Errorf("each gave %q (len %d), want %q", got, tr.len(), tc.want)
			}
		})
	}
}
