package topology

import (
	"slices"
	"testing"
)

// Every pattern's spec is whole and consistent: a new pattern_NAME.go
// that forgets a part fails here before it can compile a route wrongly.
func TestEveryPatternSpecIsWhole(t *testing.T) {
	for p := PatternNone + 1; p < numPatterns; p++ {
		s := p.spec()
		t.Run(p.String(), func(t *testing.T) {
			switch {
			case s == nil:
				t.Fatalf("pattern %d has no spec in the patterns table", p)
			case s.name == "" || !validName(s.name):
				t.Errorf("name %q: want a plain lower-case word", s.name)
			case s.emit == nil:
				t.Errorf("no emitter: its sources would not know where messages go")
			}
			if got, ok := PatternByName(s.name); !ok || got != p {
				t.Errorf("PatternByName(%q) = %v, %v; want %v", s.name, got, ok, p)
			}
			if !s.takes(endFrom) && !s.takes(endMembers) {
				t.Errorf("takes neither from: nor members:, so nothing is its source")
			}
			if s.group != "" && !s.takes(s.groupEnd) {
				t.Errorf("its group %q is made of %s:, which it does not take", s.group, endKeys[s.groupEnd])
			}
			if (s.workers || s.workQueue || s.topics) && s.group == "" {
				t.Errorf("workers, a work queue or topics need a group")
			}
			if s.dials && (s.ends[endTo] != exactlyOne || s.group != "") {
				t.Errorf("a pattern that dials opens one to: per connection, with no group")
			}
			if s.bothWays && !s.dials || (s.spliceFrom || s.splicePeer) && !s.dials {
				t.Errorf("both ways and splice are for the 1:1 pipes of a pattern that dials")
			}
			if (s.wholeMessages == "") != (s.sourceWord == "") {
				t.Errorf("wholeMessages %q and sourceWord %q go together", s.wholeMessages, s.sourceWord)
			}
			for _, k := range s.options {
				if !slices.Contains(optionKeys, k) || !slices.Contains(routeKeys, k) {
					t.Errorf("option %q is not a pattern-specific route key", k)
				}
			}
		})
	}
}

// The names and their order are part of the interface: error messages list
// them, and the documentation follows this order.
func TestPatternNamesAndOrderAreStable(t *testing.T) {
	want := []string{"bridge", "forward", "fanout", "relay", "echo", "balance", "merge", "request"}
	if got := Patterns(); !slices.Equal(got, want) {
		t.Errorf("Patterns() = %v, want %v", got, want)
	}
	if _, ok := PatternByName("none"); ok {
		t.Errorf("PatternByName(none) found a pattern")
	}
	owners := []struct {
		e    end
		want string
	}{
		{endFrom, "bridge, forward, fanout, balance, merge and request"},
		{endTo, "bridge, forward, fanout, balance, merge and request"},
		{endMembers, "relay and echo"},
	}
	for _, o := range owners {
		if got := endOwners(o.e); got != o.want {
			t.Errorf("endOwners(%s) = %q, want %q", endKeys[o.e], got, o.want)
		}
	}
	for _, k := range optionKeys {
		if len(optionOwners(k)) == 0 {
			t.Errorf("no pattern takes %s:", k)
		}
	}
}
