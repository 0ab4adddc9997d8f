package tests

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// In-band subscriptions are bounded per connection and group: a subscriber
// that asks for more than max_topics prefixes, or for one longer than
// max_topic_bytes, has those refused (and counted); it keeps what it was
// granted, and the other subscribers notice nothing.
func TestInBandTopicsAreBounded(t *testing.T) {
	topic := func(i int) string { return fmt.Sprintf("t%04d.", i) }
	var many []string // 1,100 distinct topics: 100 over the default bound
	for i := range 1100 {
		many = append(many, "+"+topic(i))
	}
	long := strings.Repeat("L", 2048) // over the default max_topic_bytes
	cases := []struct {
		name    string
		limits  string   // the subscriber endpoint's keys
		greedy  []string // what the greedy subscriber sends
		publish []string // then the publisher's lines, in order
		want    []string // what the greedy subscriber receives
		refused map[string]uint64
	}{
		{
			name:    "defaults-refuse-the-1001st-topic-and-a-2KiB-one",
			greedy:  append(append([]string{}, many...), "+"+long),
			publish: append(linesFor(1100, topic), long+"!"),
			want:    linesFor(1000, topic),
			refused: map[string]uint64{"max_topics": 100, "max_topic_bytes": 1},
		},
		{
			name:   "duplicates-count-once-unsubscribe-frees-a-place-unknown-is-a-no-op",
			limits: ", max_topics: 3, max_topic_bytes: 8",
			greedy: []string{
				"+a.", "+b.", "\x01a.", "+exactly8", // exactly8: at the byte bound, accepted; a. twice: one place
				"+c.",           // over max_topics
				"+too-long.",    // 9 bytes: over max_topic_bytes
				"-zz", "\x00zz", // not subscribed: nothing happens
				"-b.", "+c.", // b.'s place goes to c.
			},
			publish: []string{"a.1", "b.1", "c.1", "exactly8!", "too-long.1", "zz.1", "a.2"},
			want:    []string{"a.1", "c.1", "exactly8!", "a.2"},
			refused: map[string]uint64{"max_topics": 1, "max_topic_bytes": 1},
		},
	}
	for _, v := range variants() {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				r := start(t, v, `
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines`+tc.limits+`}
routes:
  - {pattern: fanout, from: pub, to: subs, in_band: true}
`)
				greedy, modest := dial(t, r.Addr("subs")), dial(t, r.Addr("subs"))
				waitFor(t, "subscribers", func() bool { return endpoint(r.Stats(), "subs").Active == 2 })
				io.WriteString(modest, "+\n") // the empty prefix: everything
				io.WriteString(greedy, strings.Join(tc.greedy, "\n")+"\n")
				subs := uint64(1 + len(tc.greedy))
				waitFor(t, "subscriptions read", func() bool { return endpoint(r.Stats(), "subs").MsgsIn == subs })

				// The last line matches a topic both hold, so once it
				// arrives, anything the greedy one should not get would
				// have come before it.
				end := tc.want[len(tc.want)-1]
				pub := dial(t, r.Addr("pub"))
				io.WriteString(pub, strings.Join(append(tc.publish, end), "\n")+"\n")
				got := readUntil(t, bufio.NewReader(greedy), end)
				if want := append(append([]string{}, tc.want...), end); strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("greedy subscriber got %d lines %s, want %d: %s", len(got), abbrev(got), len(want), abbrev(want))
				}
				if got := topicsRefused(r.Stats(), "subs"); fmt.Sprint(got) != fmt.Sprint(tc.refused) {
					t.Errorf("subscriptions refused %v, want %v", got, tc.refused)
				}
				var metrics strings.Builder
				router.WriteMetrics(&metrics, r.Stats())
				for reason, n := range tc.refused {
					want := fmt.Sprintf("pxroute_endpoint_refused_topics_total{endpoint=%q,reason=%q} %d\n", "subs", reason, n)
					if !strings.Contains(metrics.String(), want) {
						t.Errorf("/metrics lacks %q", want)
					}
				}
				all := append(append([]string{}, tc.publish...), end)
				if got := readLines(t, bufio.NewReader(modest), len(all)); strings.Join(got, ",") != strings.Join(all, ",") {
					t.Errorf("the other subscriber got %s, want %s", abbrev(got), abbrev(all))
				}
			})
		}
	}
}

// topicsRefused returns the endpoint's refused subscriptions by reason.
func topicsRefused(s router.Stats, name string) map[string]uint64 {
	for _, e := range s.Endpoints {
		if e.Name == name {
			return e.TopicsRefused
		}
	}
	return nil
}

// linesFor returns one published line for each of the first n topics.
func linesFor(n int, topic func(int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = topic(i) + "x"
	}
	return out
}

// readUntil reads lines up to and including the second occurrence of
// last, the first being a line the test also expects.
func readUntil(t *testing.T, r *bufio.Reader, last string) []string {
	t.Helper()
	var out []string
	seen := 0
	for seen < 2 {
		out = append(out, readLines(t, r, 1)[0])
		if out[len(out)-1] == last {
			seen++
		}
	}
	return out
}

// abbrev shows a long list of lines by its ends, each cut short.
func abbrev(l []string) string {
	cut := func(s string) string {
		if len(s) > 12 {
			return s[:12] + "…"
		}
		return s
	}
	if len(l) <= 8 {
		var out []string
		for _, s := range l {
			out = append(out, cut(s))
		}
		return "[" + strings.Join(out, " ") + "]"
	}
	return fmt.Sprintf("[%s %s … %s %s]", cut(l[0]), cut(l[1]), cut(l[len(l)-2]), cut(l[len(l)-1]))
}
