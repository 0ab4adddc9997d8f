package tests

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// Probes of multipart messages at their edges (issue 18 review): empty
// parts, thousands of parts, a message of exactly max_frame, each policy
// over a stalled reader across loops, relay names across loops, held
// requests, in-band topics. Each ends with every endpoint's figures
// balanced.

// settledBalanced waits until nothing is queued anywhere and every named
// endpoint balances, failing with the figures otherwise.
func settledBalanced(t *testing.T, r *router.Router, names ...string) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for {
		s := r.Stats()
		var bad error
		for _, n := range names {
			if err := reconcile(s, n); err != nil {
				bad = err
				break
			}
			if e := endpoint(s, n); e.Queued != 0 {
				bad = fmt.Errorf("%s: %d messages still queued", n, e.Queued)
				break
			}
		}
		if bad == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("figures never settled: %v", bad)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type probe2Case struct {
	name string
	yaml string
	run  func(t *testing.T, r *router.Router)
}

// manyParts is a message of n parts of 0 to 2 bytes.
func manyParts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strings.Repeat(string(rune('a'+i%26)), i%3)
	}
	return out
}

var probe2MultipartCases = []probe2Case{
	{
		name: "fanout/empty-parts-thousands-of-parts-and-exactly-max_frame-pass-whole",
		yaml: `
endpoints:
  pub:    {kind: tcp-parts, listen: "127.0.0.1:0", max_frame: 20000}
  parts:  {kind: tcp-parts, listen: "127.0.0.1:0"}
  framed: {kind: tcp, listen: "127.0.0.1:0", framing: length-prefix}
routes:
  - {pattern: fanout, from: pub, to: [parts, framed]}
`,
		run: func(t *testing.T, r *router.Router) {
			const each = 2
			var parts, framed []*net.TCPConn
			for range each {
				parts = append(parts, dial(t, r.Addr("parts")))
				framed = append(framed, dial(t, r.Addr("framed")))
			}
			waitFor(t, "subscribers", func() bool {
				s := r.Stats()
				return endpoint(s, "parts").Active == each && endpoint(s, "framed").Active == each
			})
			// exact: 2 parts whose wire is exactly max_frame (8 header bytes).
			exact := []string{strings.Repeat("e", 10000), strings.Repeat("f", 20000-8-10000)}
			msgs := [][]string{{""}, {"", "", ""}, {"", "x", ""}, manyParts(3000), exact, {"after"}}
			var wire []byte
			for _, m := range msgs {
				wire = append(wire, encodeParts(m...)...)
			}
			if n := len(encodeParts(exact...)); n != 20000 {
				t.Fatalf("exact message is %d bytes", n)
			}
			if _, err := dial(t, r.Addr("pub")).Write(wire); err != nil {
				t.Fatal(err)
			}
			for i, c := range parts {
				rd := bufio.NewReader(steady(c))
				for k, want := range msgs {
					if got := readParts(t, rd); strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
						t.Fatalf("parts subscriber %d, message %d: got %d parts (%.60q), want %d", i, k, len(got), strings.Join(got, "|"), len(want))
					}
				}
			}
			for i, c := range framed {
				rd := bufio.NewReader(steady(c))
				for k, want := range msgs {
					if got := string(readFrame(t, rd)); got != strings.Join(want, "") {
						t.Fatalf("framed subscriber %d, message %d: got %.60q, want %.60q", i, k, got, strings.Join(want, ""))
					}
				}
			}
			waitFor(t, "every message counted once", func() bool {
				s := r.Stats()
				return endpoint(s, "pub").MsgsIn == uint64(len(msgs)) && endpoint(s, "parts").MsgsOut == each*uint64(len(msgs)) && endpoint(s, "framed").MsgsOut == each*uint64(len(msgs))
			})
			settledBalanced(t, r, "parts", "framed")
		},
	},
	{
		name: "relay/names-and-sanitizing-reach-members-on-the-other-loop-part-by-part",
		yaml: `
endpoints:
  room:  {kind: tcp-parts, listen: "127.0.0.1:0"}
routes:
  - {pattern: relay, members: room, names: first-message}
`,
		run: func(t *testing.T, r *router.Router) {
			const members = 4
			var cs []*net.TCPConn
			var rds []*bufio.Reader
			for i := range members {
				c := dial(t, r.Addr("room"))
				cs = append(cs, c)
				rds = append(rds, bufio.NewReader(steady(c)))
				waitFor(t, "member", func() bool { return endpoint(r.Stats(), "room").Active == uint64(i+1) })
				c.Write(encodeParts(fmt.Sprintf("m%d", i)))
				waitFor(t, "name", func() bool { return endpoint(r.Stats(), "room").MsgsIn == uint64(i+1) })
			}
			const n = 50
			var wire []byte
			for k := range n {
				wire = append(wire, encodeParts(fmt.Sprintf("s%d\x1b", k), "", fmt.Sprintf("b%d\r", k), strings.Repeat("z", k))...)
			}
			cs[0].Write(wire)
			for i := 1; i < members; i++ {
				for k := range n {
					got := readParts(t, rds[i])
					want := []string{fmt.Sprintf("<m0> s%d", k), "", fmt.Sprintf("b%d", k), strings.Repeat("z", k)}
					if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != 4 {
						t.Fatalf("member %d, message %d: got %q, want %q", i, k, got, want)
					}
				}
			}
			settledBalanced(t, r, "room")
		},
	},
	{
		// A subscription is the first part; the rest of the message is
		// not part of it.
		name: "fanout/in-band-subscriptions-are-read-from-the-first-part",
		yaml: `
endpoints:
  pub:  {kind: tcp-parts, listen: "127.0.0.1:0"}
  subs: {kind: tcp-parts, listen: "127.0.0.1:0"}
routes:
  - {pattern: fanout, from: pub, to: subs, in_band: true}
`,
		run: func(t *testing.T, r *router.Router) {
			const subs = 3
			var conns []*net.TCPConn
			for range subs {
				c := dial(t, r.Addr("subs"))
				c.Write(encodeParts("+news", "ignored"))
				conns = append(conns, c)
			}
			waitFor(t, "subscriptions", func() bool { return endpoint(r.Stats(), "subs").MsgsIn == subs })
			pub := dial(t, r.Addr("pub"))
			var wire []byte
			for _, m := range [][]string{{"news.a", "1"}, {"ignored", "x"}, {"sport"}, {"news", "", ""}, {"", "news"}} {
				wire = append(wire, encodeParts(m...)...)
			}
			pub.Write(wire)
			for i, c := range conns {
				rd := bufio.NewReader(steady(c))
				for _, want := range [][]string{{"news.a", "1"}, {"news", "", ""}} {
					if got := readParts(t, rd); strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
						t.Fatalf("subscriber %d got %q, want %q", i, got, want)
					}
				}
			}
			waitFor(t, "the publisher's messages counted", func() bool { return endpoint(r.Stats(), "pub").MsgsIn == 5 })
			settledBalanced(t, r, "subs")
		},
	},
}

// TestProbe2MultipartEdges runs probe2MultipartCases over every variant.
func TestProbe2MultipartEdges(t *testing.T) {
	for _, v := range variants() {
		for _, tc := range probe2MultipartCases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				tc.run(t, start(t, v, tc.yaml))
			})
		}
	}
}

// TestProbe2MultipartPolicies: a subscriber that stops reading, under
// each policy and marks of one message: what it gets later is whole
// messages, in order, and every message is counted.
func TestProbe2MultipartPolicies(t *testing.T) {
	for _, v := range variants() {
		for _, pol := range []string{"drop-oldest", "drop-newest", "disconnect", "block"} {
			t.Run(v.String()+"/"+pol, func(t *testing.T) {
				r := start(t, v, fmt.Sprintf(`
endpoints:
  pub:  {kind: tcp-parts, listen: "127.0.0.1:0"}
  subs: {kind: tcp-parts, listen: "127.0.0.1:0", sndbuf: 4KiB, high_water_msgs: 1, overflow: %s}
routes:
  - {pattern: fanout, from: pub, to: subs}
`, pol))
				sub := dial(t, r.Addr("subs"))
				waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "subs").Active == 1 })
				pub := dial(t, r.Addr("pub"))
				const n = 400
				errc := make(chan error, 1)
				go func() {
					var wire []byte
					for k := range n {
						wire = append(wire, encodeParts(fmt.Sprintf("%04d", k), "", strings.Repeat("p", 1000), fmt.Sprintf("%04d", k))...)
					}
					_, err := pub.Write(wire)
					errc <- err
				}()
				if pol != "block" {
					waitFor(t, "the publisher's messages read", func() bool { return endpoint(r.Stats(), "pub").MsgsIn == n })
				} else {
					time.Sleep(100 * time.Millisecond)
				}
				rd := bufio.NewReader(sub) // deadlines set per message below
				last, got := -1, 0
				for {
					sub.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
					var hdr [4]byte
					if _, err := io.ReadFull(rd, hdr[:]); err != nil {
						break
					}
					parts := []string{}
					h := binary.BigEndian.Uint32(hdr[:])
					for {
						p := make([]byte, h&^moreParts)
						if _, err := io.ReadFull(rd, p); err != nil {
							t.Fatalf("message cut after %d parts: %v", len(parts), err)
						}
						parts = append(parts, string(p))
						if h&moreParts == 0 {
							break
						}
						if _, err := io.ReadFull(rd, hdr[:]); err != nil {
							t.Fatalf("message cut after %d parts: %v", len(parts), err)
						}
						h = binary.BigEndian.Uint32(hdr[:])
					}
					var k int
					if len(parts) != 4 || parts[0] != parts[3] || parts[1] != "" || len(parts[2]) != 1000 {
						t.Fatalf("message %d is not whole: %d parts, %.40q", got, len(parts), parts)
					}
					fmt.Sscanf(parts[0], "%d", &k)
					if k <= last {
						t.Fatalf("message %d after %d: out of order", k, last)
					}
					last = k
					got++
					if pol == "block" && got == n {
						break
					}
				}
				if pol == "block" && got != n {
					t.Fatalf("block: got %d of %d", got, n)
				}
				if err := <-errc; err != nil && pol == "block" {
					t.Fatalf("publisher: %v", err)
				}
				waitFor(t, "the publisher's messages read", func() bool { return endpoint(r.Stats(), "pub").MsgsIn == n })
				settledBalanced(t, r, "subs")
				e := endpoint(r.Stats(), "subs")
				t.Logf("%s: offered %d out %d drops %v (read %d)", pol, e.Offered, e.MsgsOut, e.Drops, got)
				if pol != "disconnect" && e.MsgsOut < uint64(got) {
					t.Fatalf("read %d messages, MsgsOut %d", got, e.MsgsOut)
				}
			})
		}
	}
}
