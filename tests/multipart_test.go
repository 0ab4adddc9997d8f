package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// multipartCase is one behaviour of messages of several parts, end to end
// through the test-parts framing (multipart_framing_test.go).
type multipartCase struct {
	name string
	yaml string
	run  func(t *testing.T, r *router.Router)
}

// partsMessages is n messages of one to three parts, of varied lengths,
// each part naming its message and place.
func partsMessages(n int) [][]string {
	out := make([][]string, n)
	for i := range out {
		for p := range 1 + i%3 {
			out[i] = append(out[i], fmt.Sprintf("m%d.p%d.%s", i, p, strings.Repeat("x", (i*7+p)%50)))
		}
	}
	return out
}

// balanced checks Offered = MsgsOut + drops + QueuedMsgs for endpoint name.
func balanced(s router.Stats, name string) bool {
	e := endpoint(s, name)
	drops := uint64(0)
	for _, n := range e.Drops {
		drops += n
	}
	return e.Offered == e.MsgsOut+drops+uint64(e.Queued)
}

var multipartCases = []multipartCase{
	{
		// One write holds every message (many a read); the subscribers
		// spread over the loops, so with two loops messages cross in
		// batches with their parts.
		name: "fanout/parts-reach-every-framing-and-each-message-counts-once",
		yaml: `
endpoints:
  pub:    {kind: tcp-parts, listen: "127.0.0.1:0"}
  parts:  {kind: tcp-parts, listen: "127.0.0.1:0"}
  lines:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  framed: {kind: tcp, listen: "127.0.0.1:0", framing: length-prefix}
routes:
  - {pattern: fanout, from: pub, to: [parts, lines, framed]}
`,
		run: func(t *testing.T, r *router.Router) {
			const each, n = 3, 300
			var parts, lines, framed []*net.TCPConn
			for range each {
				parts = append(parts, dial(t, r.Addr("parts")))
				lines = append(lines, dial(t, r.Addr("lines")))
				framed = append(framed, dial(t, r.Addr("framed")))
			}
			waitFor(t, "subscribers", func() bool {
				s := r.Stats()
				return endpoint(s, "parts").Active == each && endpoint(s, "lines").Active == each && endpoint(s, "framed").Active == each
			})
			msgs := partsMessages(n)
			var wire []byte
			for _, m := range msgs {
				wire = append(wire, encodeParts(m...)...)
			}
			if _, err := dial(t, r.Addr("pub")).Write(wire); err != nil {
				t.Fatal(err)
			}
			for i, c := range parts {
				rd := bufio.NewReader(steady(c))
				for k, want := range msgs {
					if got := readParts(t, rd); strings.Join(got, "|") != strings.Join(want, "|") {
						t.Fatalf("parts subscriber %d, message %d: got parts %q, want %q", i, k, got, want)
					}
				}
			}
			for i, c := range lines {
				rd := bufio.NewReader(steady(c))
				for k, got := range readLines(t, rd, n) {
					if want := strings.Join(msgs[k], ""); got != want {
						t.Fatalf("lines subscriber %d, message %d: got %q, want the parts back to back, %q", i, k, got, want)
					}
				}
			}
			for i, c := range framed {
				rd := bufio.NewReader(steady(c))
				for k, want := range msgs {
					if got := string(readFrame(t, rd)); got != strings.Join(want, "") {
						t.Fatalf("length-prefix subscriber %d, message %d: got %q, want %q", i, k, got, strings.Join(want, ""))
					}
				}
			}
			waitFor(t, "stats to count each message once", func() bool {
				s := r.Stats()
				return endpoint(s, "pub").MsgsIn == n && endpoint(s, "parts").MsgsOut == each*n &&
					endpoint(s, "lines").MsgsOut == each*n && endpoint(s, "framed").MsgsOut == each*n
			})
			s := r.Stats()
			for _, name := range []string{"parts", "lines", "framed"} {
				if !balanced(s, name) {
					t.Fatalf("%s: Offered != MsgsOut + drops + QueuedMsgs: %+v", name, endpoint(s, name))
				}
			}
		},
	},
	{
		name: "fanout/a-single-part-message-is-one-part",
		yaml: `
endpoints:
  pub:   {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  parts: {kind: tcp-parts, listen: "127.0.0.1:0"}
routes:
  - {pattern: fanout, from: pub, to: parts}
`,
		run: func(t *testing.T, r *router.Router) {
			sub := dial(t, r.Addr("parts"))
			waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "parts").Active == 1 })
			io.WriteString(dial(t, r.Addr("pub")), "alpha\nbeta gamma\n\n")
			rd := bufio.NewReader(steady(sub))
			for _, want := range []string{"alpha", "beta gamma", ""} {
				if got := readParts(t, rd); len(got) != 1 || got[0] != want {
					t.Fatalf("got parts %q, want the one part %q", got, want)
				}
			}
		},
	},
	{
		// ZeroMQ's SUB matches the first frame; a NATS subject is the
		// first part.
		name: "fanout/topics-match-the-first-part-only",
		yaml: `
endpoints:
  pub:  {kind: tcp-parts, listen: "127.0.0.1:0"}
  subs: {kind: tcp-parts, listen: "127.0.0.1:0"}
routes:
  - {pattern: fanout, from: pub, to: subs, topics: {subs: [news]}}
`,
		run: func(t *testing.T, r *router.Router) {
			const subs = 2
			var conns []*net.TCPConn
			for range subs {
				conns = append(conns, dial(t, r.Addr("subs")))
			}
			waitFor(t, "subscribers", func() bool { return endpoint(r.Stats(), "subs").Active == subs })
			pub := dial(t, r.Addr("pub"))
			var wire []byte
			for _, m := range [][]string{{"news.a", "one"}, {"sport", "news in the body"}, {"ne", "ws"}, {"newsy"}, {"end", "news"}, {"news.z"}} {
				wire = append(wire, encodeParts(m...)...)
			}
			pub.Write(wire)
			for i, c := range conns {
				rd := bufio.NewReader(steady(c))
				for _, want := range [][]string{{"news.a", "one"}, {"newsy"}, {"news.z"}} {
					if got := readParts(t, rd); strings.Join(got, "|") != strings.Join(want, "|") {
						t.Fatalf("subscriber %d got %q, want %q", i, got, want)
					}
				}
			}
		},
	},
	{
		name: "relay/the-name-prefixes-the-first-part-and-sanitizing-cleans-every-part",
		yaml: `
endpoints:
  room: {kind: tcp-parts, listen: "127.0.0.1:0"}
routes:
  - {pattern: relay, members: room, names: first-message}
`,
		run: func(t *testing.T, r *router.Router) {
			alice, bob := dial(t, r.Addr("room")), dial(t, r.Addr("room"))
			waitFor(t, "members", func() bool { return endpoint(r.Stats(), "room").Active == 2 })
			bob.Write(encodeParts("bob"))
			alice.Write(encodeParts("alice"))
			waitFor(t, "names", func() bool { return endpoint(r.Stats(), "room").MsgsIn == 2 })
			alice.Write(encodeParts("subject\x1b[2J", "body\r", "\u202eend"))
			got := readParts(t, bufio.NewReader(steady(bob)))
			want := []string{"<alice> subject[2J", "body", "end"}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("bob got %q, want %q", got, want)
			}
		},
	},
	{
		// Each part is under max_frame, the message is not: it is the
		// message max_frame bounds.
		name: "max_frame/bounds-the-whole-message-not-each-part",
		yaml: `
endpoints:
  pub:  {kind: tcp-parts, listen: "127.0.0.1:0", max_frame: 100}
  subs: {kind: tcp-parts, listen: "127.0.0.1:0"}
routes:
  - {pattern: fanout, from: pub, to: subs}
`,
		run: func(t *testing.T, r *router.Router) {
			sub := dial(t, r.Addr("subs"))
			waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "subs").Active == 1 })
			pub := dial(t, r.Addr("pub"))
			pub.Write(append(encodeParts(strings.Repeat("a", 40), strings.Repeat("b", 40)), encodeParts(strings.Repeat("c", 60), strings.Repeat("d", 60))...))
			if got := readParts(t, bufio.NewReader(steady(sub))); len(got) != 2 || len(got[0]) != 40 || len(got[1]) != 40 {
				t.Fatalf("got %d parts, want the message under max_frame whole", len(got))
			}
			if _, err := io.ReadAll(pub); err != nil && !isReset(err) {
				t.Fatalf("the publisher over max_frame was not closed: %v", err)
			}
			waitFor(t, "the message over max_frame counted", func() bool {
				return endpoint(r.Stats(), "pub").Lost["max_frame"] == 1
			})
		},
	},
}

// TestMultipartMessages: a message of several parts passes whole between
// multipart endpoints, reaches single-part framings as its parts back to
// back, is matched by its first part, rewritten by a relay part-aware, and
// counted as one message, over both engines and one or two loops.
func TestMultipartMessages(t *testing.T) {
	for _, v := range variants() {
		for _, tc := range multipartCases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				tc.run(t, start(t, v, tc.yaml))
			})
		}
	}
}
