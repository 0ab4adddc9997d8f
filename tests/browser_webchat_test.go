package tests

import (
	"bufio"
	"io"
	"testing"
)

// webChatYAML is topologies/web-chat.yaml on free ports.
const webChatYAML = `
endpoints:
  web: {kind: tcp, listen: "127.0.0.1:0", framing: websocket, path: /chat, page: true}
  term: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: [web, term], names: first-message, notices: true}
`

// Two Chromium pages join from pxroute's built-in page and one TCP client
// from the lines endpoint, in one relay room: each sees the others'
// messages (the pages in their DOM), a reloaded page rejoins, and every
// message offered is delivered, dropped with a reason or queued.
func TestWebChatInABrowser(t *testing.T) {
	b := startBrowser(t)
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, webChatYAML)
			url := "http://" + r.Addr("web") + "/"

			carol := dial(t, r.Addr("term"))
			carolIn := bufio.NewReader(steady(carol))
			io.WriteString(carol, "carol\n")
			waitFor(t, "carol's nickname", func() bool { return endpoint(r.Stats(), "term").MsgsIn == 1 })

			alice := b.open(t, "alice", url)
			alice.join(t, "alice")
			readExact(t, carolIn, "* alice joined")
			bob := b.open(t, "bob", url)
			bob.join(t, "bob")
			alice.waitLines(t, "* bob joined")
			readExact(t, carolIn, "* bob joined")

			alice.say(t, "hi from alice")
			bob.waitLines(t, "<alice> hi from alice")
			readExact(t, carolIn, "<alice> hi from alice")
			bob.say(t, "hi from bob")
			alice.waitLines(t, "<bob> hi from bob")
			readExact(t, carolIn, "<bob> hi from bob")
			io.WriteString(carol, "hello browsers\n")
			alice.waitLines(t, "<carol> hello browsers")
			bob.waitLines(t, "<carol> hello browsers")

			bob.reload(t)
			bob.waitStatus(t, "connected as bob")
			alice.waitCount(t, "* bob joined", 2)
			readExact(t, carolIn, "* bob left", "* bob joined")
			bob.say(t, "back after a reload")
			alice.waitLines(t, "<bob> back after a reload")
			readExact(t, carolIn, "<bob> back after a reload")

			alice.screenshot(t, "web-chat.png")
			for _, p := range []*chatPage{alice, bob} {
				p.noExceptions(t)
			}
			for _, name := range []string{"web", "term"} {
				waitFor(t, name+" accounted", func() bool {
					e := endpoint(r.Stats(), name)
					var drops uint64
					for _, n := range e.Drops {
						drops += n
					}
					return e.Offered == e.MsgsOut+drops+uint64(e.Queued)
				})
			}
		})
	}
}

// readExact reads len(want) lines and fails unless they are want.
func readExact(t *testing.T, r *bufio.Reader, want ...string) {
	t.Helper()
	got := readLines(t, r, len(want))
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("read %q, want %q", got, want)
		}
	}
}
