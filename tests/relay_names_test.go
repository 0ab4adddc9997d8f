package tests

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// Issue 17 defect 5: relay names could be spoofed. A nickname kept C1 and
// bidi controls, two members could share a name (each loop named its own
// members), and a "\r" in a message could overwrite the "<name> " before
// it on a terminal.

// member is one relay connection and its reader.
type member struct {
	c *net.TCPConn
	r *bufio.Reader
}

// join dials the room and sends a nickname, and waits until the router has
// read it (so that members join in the order they are dialled, and with
// two loops alternate between them).
func join(t *testing.T, r *router.Router, ep, nick string) member {
	t.Helper()
	before := endpoint(r.Stats(), ep).MsgsIn
	c := dial(t, r.Addr(ep))
	io.WriteString(c, nick+"\n")
	// At least: a message of the turn before may be counted only now (a
	// loop publishes its figures after the turn's writes).
	waitFor(t, "nickname "+nick, func() bool { return endpoint(r.Stats(), ep).MsgsIn >= before+1 })
	return member{c, bufio.NewReader(c)}
}

func (m member) expect(t *testing.T, want ...string) {
	t.Helper()
	if got := readLines(t, m.r, len(want)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

var relayNameCases = []struct {
	name string
	yaml string
	run  func(t *testing.T, r *router.Router)
}{
	{
		name: "duplicate-nicknames-get-#2-#3-across-loops-and-a-freed-name-is-free-again",
		yaml: `
endpoints:
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: chat, names: first-message, notices: true}
`,
		run: func(t *testing.T, r *router.Router) {
			obs := join(t, r, "chat", "obs")
			// Accepted conns go to the loops in turn: with two loops,
			// a1 and a2 are on different ones, a1 and a3 on the same.
			a1 := join(t, r, "chat", "alice")
			obs.expect(t, "* alice joined")
			a2 := join(t, r, "chat", "alice")
			obs.expect(t, "* alice#2 joined")
			a3 := join(t, r, "chat", "alice")
			obs.expect(t, "* alice#3 joined")
			io.WriteString(a1.c, "one\n")
			obs.expect(t, "<alice> one")
			io.WriteString(a2.c, "two\n")
			obs.expect(t, "<alice#2> two")
			io.WriteString(a3.c, "three\n")
			obs.expect(t, "<alice#3> three")
			a1.c.Close()
			obs.expect(t, "* alice left")
			join(t, r, "chat", "alice")
			obs.expect(t, "* alice joined")
			// Claiming a suffixed name held by another suffixes it again.
			join(t, r, "chat", "alice#2")
			obs.expect(t, "* alice#2#2 joined")
		},
	},
	{
		name: "nicknames-lose-c1-and-bidi-controls",
		yaml: `
endpoints:
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: chat, names: first-message}
`,
		run: func(t *testing.T, r *router.Router) {
			obs := join(t, r, "chat", "obs")
			m := join(t, r, "chat", "mal\u202Elory\u0085\u009b2J\u2066")
			io.WriteString(m.c, "hi\n")
			obs.expect(t, "<mallory2J> hi")
		},
	},
	{
		name: "sanitize-true-strips-carriage-return-escape-and-c1-from-payloads",
		yaml: `
endpoints:
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: chat, names: first-message, sanitize: true}
`,
		run: func(t *testing.T, r *router.Router) {
			obs := join(t, r, "chat", "obs")
			a := join(t, r, "chat", "alice")
			io.WriteString(a.c, "hi\r<bob> I owe alice\x1b[2K \u0085\u009b\u202Eevil\u2069\x7f\tend\r\n")
			obs.expect(t, "<alice> hi<bob> I owe alice[2K evil\tend")
		},
	},
	{
		name: "names-sanitize-by-default-and-sanitize-false-passes-payloads-unchanged",
		yaml: `
endpoints:
  lobby: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  raw:   {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: lobby, names: first-message}
  - {pattern: relay, members: raw, names: first-message, sanitize: false}
`,
		run: func(t *testing.T, r *router.Router) {
			lo, la := join(t, r, "lobby", "obs"), join(t, r, "lobby", "alice")
			ro, ra := join(t, r, "raw", "obs"), join(t, r, "raw", "alice")
			io.WriteString(la.c, "a\rb\x1bc\n")
			lo.expect(t, "<alice> abc")
			io.WriteString(ra.c, "a\rb\x1bc\n")
			ro.expect(t, "<alice> a\rb\x1bc")
		},
	},
	{
		name: "sanitize-without-names-cleans-every-message-of-a-read-in-order",
		yaml: `
endpoints:
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: chat, sanitize: true}
`,
		run: func(t *testing.T, r *router.Router) {
			obs := dial(t, r.Addr("chat"))
			waitFor(t, "obs", func() bool { return endpoint(r.Stats(), "chat").Active == 1 })
			snd := dial(t, r.Addr("chat"))
			waitFor(t, "sender", func() bool { return endpoint(r.Stats(), "chat").Active == 2 })
			// One write: clean and dirty lines mixed, so that runs of
			// clean lines and single dirty ones both go out.
			var in, want []string
			for i := range 200 {
				line := "clean " + strings.Repeat("x", i%7)
				if i%5 == 3 {
					in, want = append(in, "d\x1birty\r"+line), append(want, "dirty"+line)
				} else {
					in, want = append(in, line), append(want, line)
				}
			}
			io.WriteString(snd, strings.Join(in, "\n")+"\n")
			got := readLines(t, bufio.NewReader(obs), len(want))
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("line %d: got %q, want %q", i, got[i], want[i])
				}
			}
			waitFor(t, "accounting", func() bool {
				e := endpoint(r.Stats(), "chat")
				return e.MsgsOut == 200 && e.Offered == 200 && e.Queued == 0
			})
		},
	},
}

func TestRelayNames(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			for _, tc := range relayNameCases {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, start(t, v, tc.yaml))
				})
			}
		})
	}
}
