package opcodes

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/contract"
)

// Each case applies subscription commands ("+p" adds, "-p" removes) to an
// empty set, then checks which payloads it takes and how many it holds.
func TestPrefixTree(t *testing.T) {
	cases := []struct {
		name    string
		ops     []string
		held    int
		takes   []string
		refuses []string
	}{
		{"empty-set-takes-nothing", nil, 0, nil, []string{"", "a", "news"}},
		{"empty-prefix-takes-everything", []string{"+"}, 1, []string{"", "a", "\x00\xff"}, nil},
		{"a-prefix-takes-itself-and-longer", []string{"+news."}, 1, []string{"news.", "news.x"}, []string{"news", "new", "", "xnews.", "weather"}},
		{"overlapping-prefixes-either-matches", []string{"+ab", "+abcd", "+b"}, 3, []string{"ab", "abc", "abcd!", "b", "bz"}, []string{"a", "c", ""}},
		{"a-longer-prefix-first-then-split", []string{"+abcd", "+abx"}, 2, []string{"abcd", "abx", "abxyz"}, []string{"ab", "abc", "aby"}},
		{"a-shorter-prefix-inside-an-edge", []string{"+abcd", "+ab"}, 2, []string{"ab", "abz", "abcd"}, []string{"a", "ax"}},
		{"duplicates-held-once", []string{"+x", "+x", "+x"}, 1, []string{"x"}, []string{"y"}},
		{"unsubscribe-removes-only-that-prefix", []string{"+ab", "+abcd", "-ab"}, 1, []string{"abcd", "abcde"}, []string{"ab", "abc", "abx"}},
		{"unsubscribe-the-longer-keeps-the-shorter", []string{"+ab", "+abcd", "-abcd"}, 1, []string{"ab", "abc", "abcd"}, []string{"a"}},
		{"unsubscribe-a-branch-point-merges-edges", []string{"+abc", "+abd", "+ab", "-abd", "-ab"}, 1, []string{"abc", "abcz"}, []string{"ab", "abd", "a"}},
		{"unsubscribe-unknown-is-a-no-op", []string{"+ab", "-a", "-abc", "-zz", "-"}, 1, []string{"ab"}, []string{"a"}},
		{"unsubscribe-everything-takes-nothing", []string{"+a", "+b", "+", "-a", "-b", "-"}, 0, nil, []string{"", "a", "b"}},
		{"binary-prefixes", []string{"+\x00\x01", "+\xff"}, 2, []string{"\x00\x01\x02", "\xff"}, []string{"\x00", "\x01"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s prefixTree
			for _, op := range tc.ops {
				if op[0] == '+' {
					s.add([]byte(op[1:]))
				} else {
					s.remove([]byte(op[1:]))
				}
			}
			if s.len() != tc.held {
				t.Errorf("holds %d prefixes, want %d", s.len(), tc.held)
			}
			for _, p := range tc.takes {
				if !s.matches([]byte(p)) {
					t.Errorf("does not take %q", p)
				}
			}
			for _, p := range tc.refuses {
				if s.matches([]byte(p)) {
					t.Errorf("takes %q", p)
				}
			}
			checkTree(t, &s.root, true)
		})
	}
}

// The tree agrees with a linear scan of the prefixes it holds, through
// many adds and removes of overlapping prefixes, and is empty at the end.
func TestPrefixTreeAgreesWithLinearScan(t *testing.T) {
	var s prefixTree
	held := map[string]bool{}
	alphabet := "ab."
	word := func(i int) string { // every string over the alphabet up to 4 long
		var b strings.Builder
		for ; i > 0; i /= len(alphabet) + 1 {
			if d := i % (len(alphabet) + 1); d > 0 {
				b.WriteByte(alphabet[d-1])
			}
		}
		return b.String()
	}
	probe := func() {
		t.Helper()
		for i := range 256 {
			p := []byte(word(i))
			want := false
			for h := range held {
				want = want || bytes.HasPrefix(p, []byte(h))
			}
			if s.matches(p) != want {
				t.Fatalf("holding %d prefixes, matches(%q) = %v, want %v", len(held), p, !want, want)
			}
		}
		checkTree(t, &s.root, true)
	}
	for i := range 256 { // add in one order, remove in another
		w := word((i * 37) % 256)
		if s.add([]byte(w)) == held[w] {
			t.Fatalf("add(%q) reported wrongly", w)
		}
		held[w] = true
		if i%16 == 0 {
			probe()
		}
	}
	for i := range 256 {
		w := word((i * 101) % 256)
		if s.remove([]byte(w)) != held[w] {
			t.Fatalf("remove(%q) reported wrongly", w)
		}
		delete(held, w)
		if i%16 == 0 {
			probe()
		}
	}
	if s.len() != 0 || len(s.root.kids) != 0 || s.root.end {
		t.Fatalf("after removing everything: %d held, %d nodes under the root", s.len(), len(s.root.kids))
	}
}

// checkTree checks the radix tree's shape: non-empty labels, siblings
// with distinct first bytes, each indexed, and no node (but the root)
// that neither ends a prefix nor branches.
func checkTree(t *testing.T, n *topicNode, root bool) {
	t.Helper()
	if !root && (len(n.label) == 0 || (!n.end && len(n.kids) < 2)) {
		t.Fatalf("node %q: end %v, %d children", n.label, n.end, len(n.kids))
	}
	if len(n.first) != len(n.kids) {
		t.Fatalf("node %q: %d children, %d first bytes", n.label, len(n.kids), len(n.first))
	}
	for i, k := range n.kids {
		if n.first[i] != k.label[0] || bytes.IndexByte(n.first, k.label[0]) != i {
			t.Fatalf("node %q: child %d (%q) indexed wrongly in %q", n.label, i, k.label, n.first)
		}
		checkTree(t, k, false)
	}
}

// subscribe bounds what a conn holds per group and counts each refusal;
// duplicates and unknown unsubscriptions change nothing.
func TestSubscribeBounds(t *testing.T) {
	cases := []struct {
		name          string
		topics, bytes int
		msgs          []string
		held          map[uint32]int // prefixes held per group
		refused       [NumTopicRefusals]uint64
		noRoute       uint64
		declared      []string // group 0's topics: from the topology, before any subscription
	}{
		{"under-the-bounds", 3, 4, []string{"+a", "+bb", "\x01cccc"}, map[uint32]int{0: 3}, [NumTopicRefusals]uint64{}, 0, nil},
		{"one-over-max_topics", 2, 4, []string{"+a", "+b", "+c", "+d"}, map[uint32]int{0: 2}, [NumTopicRefusals]uint64{RefuseMaxTopics: 2}, 0, nil},
		{"over-max_topic_bytes", 9, 4, []string{"+abcd", "+abcde", "\x01toolong"}, map[uint32]int{0: 1}, [NumTopicRefusals]uint64{RefuseMaxTopicBytes: 2}, 0, nil},
		{"a-duplicate-at-the-bound-is-not-refused", 2, 4, []string{"+a", "+b", "+a", "\x01b"}, map[uint32]int{0: 2}, [NumTopicRefusals]uint64{}, 0, nil},
		{"unsubscribe-frees-a-place", 2, 4, []string{"+a", "+b", "-a", "+c", "+d"}, map[uint32]int{0: 2}, [NumTopicRefusals]uint64{RefuseMaxTopics: 1}, 0, nil},
		{"unknown-unsubscribe-is-a-no-op", 2, 4, []string{"+a", "-b", "\x00zz", "-"}, map[uint32]int{0: 1}, [NumTopicRefusals]uint64{}, 0, nil},
		{"bounds-are-per-group", 1, 4, []string{"+a", "g1+b", "+c", "g1+d"}, map[uint32]int{0: 1, 1: 1}, [NumTopicRefusals]uint64{RefuseMaxTopics: 2}, 0, nil},
		{"not-a-subscription-is-no_route", 2, 4, []string{"hello", ""}, map[uint32]int{0: 0}, [NumTopicRefusals]uint64{}, 2, nil},
		{"declared-topics-are-not-bounded-but-take-places", 2, 4, []string{"+a", "+b", "-declared-too-long", "+b"}, map[uint32]int{0: 2}, [NumTopicRefusals]uint64{RefuseMaxTopics: 1}, 0, []string{"declared-too-long"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rt := &Runtime{set: []contract.Settings{{MaxTopics: tc.topics, MaxTopicBytes: tc.bytes}}}
			m := &Machine{rt: rt, prog: &Prog{Endpoints: []string{"subs"}}, counters: make([]epCounters, 1), log: slog.New(slog.DiscardHandler)}
			c := &conn{}
			for _, d := range tc.declared {
				c.roles().filterIn(0).topics.add([]byte(d))
			}
			for _, msg := range tc.msgs {
				g := uint32(0)
				if s, ok := strings.CutPrefix(msg, "g1"); ok {
					g, msg = 1, s
				}
				c.msg, c.lo, c.hi = []byte(msg), 0, len(msg)
				m.subscribe(c, g)
			}
			for g, want := range tc.held {
				if got := c.roles().filterIn(g).topics.len(); got != want {
					t.Errorf("group %d: %d prefixes held, want %d", g, got, want)
				}
			}
			if got := m.counters[0].TopicsRefused; got != tc.refused {
				t.Errorf("refused %v, want %v", got, tc.refused)
			}
			if got := m.counters[0].Lost[DropNoRoute]; got != tc.noRoute {
				t.Errorf("%d no_route drops, want %d", got, tc.noRoute)
			}
		})
	}
}

// The cost of a match must not grow with the topics held: compare ns/op
// for 10 and 10,000 (a miss that shares a long prefix with all of them,
// the worst case for a linear scan, and a hit).
func BenchmarkTopicMatch(b *testing.B) {
	for _, n := range []int{10, 10000} {
		for _, payload := range []string{"topic.999999.payload of a message", "topic.000007.payload of a message"} {
			b.Run(fmt.Sprintf("topics=%d/%s", n, payload[:12]), func(b *testing.B) {
				var s prefixTree
				for i := range n {
					s.add(fmt.Appendf(nil, "topic.%06d.", i))
				}
				c := &conn{ro: &roles{filters: []filter{{group: 0, topics: s}}}}
				p := []byte(payload)
				want := payload[6:12] != "999999"
				for b.Loop() {
					if c.wants(0, p) != want {
						b.Fatal("wrong answer")
					}
				}
			})
		}
	}
}

// Subscribing, too, costs the same however many topics are held.
func BenchmarkTopicSubscribe(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("topics=%d", n), func(b *testing.B) {
			var s prefixTree
			for i := range n {
				s.add(fmt.Appendf(nil, "topic.%06d.", i))
			}
			p := []byte("topic.999999.")
			for b.Loop() {
				s.add(p)
				s.remove(p)
			}
		})
	}
}

// FuzzPrefixTree feeds in-band subscriptions as a hostile subscriber would
// send them — any bytes, adds and removes in any order — and checks the
// tree against a plain set: add and remove report what changed, matches
// agrees with a linear scan, and the tree keeps its shape.
func FuzzPrefixTree(f *testing.F) {
	f.Add([]byte("+weather.\n+news.\n-weather.\n?news.today\n?weather.x"))
	f.Add([]byte("+\n?anything\n-\n?anything"))
	f.Add([]byte("+a\n+ab\n+abc\n-ab\n?abd\n?ab\n?a"))
	f.Fuzz(func(t *testing.T, script []byte) {
		var s prefixTree
		held := map[string]bool{}
		for _, line := range bytes.Split(script, []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			arg := line[1:]
			switch line[0] {
			case '+':
				if s.add(arg) == held[string(arg)] {
					t.Fatalf("add(%q) reported wrongly", arg)
				}
				held[string(arg)] = true
			case '-':
				if s.remove(arg) != held[string(arg)] {
					t.Fatalf("remove(%q) reported wrongly", arg)
				}
				delete(held, string(arg))
			default:
				want := false
				for h := range held {
					want = want || bytes.HasPrefix(arg, []byte(h))
				}
				if s.matches(arg) != want {
					t.Fatalf("matches(%q) = %v holding %d prefixes", arg, !want, len(held))
				}
			}
			if s.len() != len(held) {
				t.Fatalf("holds %d prefixes, want %d", s.len(), len(held))
			}
			checkTree(t, &s.root, true)
		}
	})
}
