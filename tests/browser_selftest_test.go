package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser harness and the built-in page, shown to work in real
// headless Chromium against stubRoom (a hand-written WebSocket relay in
// the test), independently of pxroute's websocket framing: join, send,
// receive, notices, text stays text, binary messages, the history cap,
// reconnecting by itself (nickname sent again), a reload rejoining, leave.
// Steps run in order over the same two pages; the first failure ends it.
func TestWebChatPageInABrowserAgainstAStubRoom(t *testing.T) {
	room := startStubRoom(t)
	b := startBrowser(t)
	alice := b.open(t, "alice", room.url())
	bob := b.open(t, "bob", room.url())
	const xss = `<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script>`
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"a-page-joins-with-a-nickname-sent-as-its-first-message", func(t *testing.T) {
			alice.join(t, "alice")
			waitFor(t, "alice in the room", func() bool { return room.joined("alice") == 1 })
		}},
		{"the-others-see-a-join-notice", func(t *testing.T) {
			bob.join(t, "bob")
			alice.waitLines(t, "* bob joined")
		}},
		{"a-message-shows-in-the-senders-page-and-the-others", func(t *testing.T) {
			alice.say(t, "hello from alice")
			alice.waitLines(t, "<alice> hello from alice")
			bob.waitLines(t, "<alice> hello from alice")
			bob.say(t, "hi alice")
			alice.waitLines(t, "<bob> hi alice")
		}},
		{"peer-markup-shows-as-text-and-never-runs", func(t *testing.T) {
			bob.say(t, xss)
			alice.waitLines(t, "<bob> "+xss)
			if n := eval[int](t, alice, `document.querySelectorAll("#log img, #log script").length`); n != 0 {
				t.Errorf("alice's #log holds %d elements from a message", n)
			}
			if title := eval[string](t, alice, `document.title`); title != "pxroute chat" {
				t.Errorf("alice's title is %q", title)
			}
		}},
		{"a-binary-message-shows-as-utf-8-text", func(t *testing.T) {
			room.send("alice", 2, []byte("<bob> binary \u00e9t\u00e9"))
			alice.waitLines(t, "<bob> binary \u00e9t\u00e9")
		}},
		{"a-dropped-page-reconnects-and-sends-its-nickname-again", func(t *testing.T) {
			room.kick("alice")
			bob.waitLines(t, "* alice left")
			alice.waitStatus(t, "disconnected (1001), reconnecting")
			waitFor(t, "alice back", func() bool { return room.joined("alice") == 2 })
			alice.waitStatus(t, "connected as alice")
			alice.say(t, "back again")
			bob.waitLines(t, "<alice> back again")
			bob.waitCount(t, "* alice joined", 1) // bob joined after alice's first join
		}},
		{"a-reload-rejoins-under-the-same-nickname", func(t *testing.T) {
			bob.reload(t)
			bob.waitStatus(t, "connected as bob")
			alice.waitLines(t, "* bob left")
			alice.waitCount(t, "* bob joined", 2)
			alice.say(t, "welcome back bob")
			bob.waitLines(t, "<alice> welcome back bob")
			alice.screenshot(t, "web-chat-alice.png")
		}},
		{"the-history-keeps-the-last-1000-lines", func(t *testing.T) {
			for i := range 1100 {
				room.send("bob", 1, fmt.Appendf(nil, "<alice> line %d", i))
			}
			bob.waitLines(t, "<alice> line 1099")
			got := bob.lines(t)
			if len(got) != 1000 || got[0] != "<alice> line 100" {
				t.Errorf("bob's #log holds %d lines from %q; want 1000 from %q", len(got), got[0], "<alice> line 100")
			}
		}},
		{"leave-closes-and-stays-closed", func(t *testing.T) {
			bob.do(t, "leave", chromedp.Click(chromedp.ID("join")))
			bob.waitStatus(t, "left")
			alice.waitCount(t, "* bob left", 2)
			time.Sleep(2 * time.Second) // past the first reconnect's delay (0.25-0.5 s)
			if n := room.joined("bob"); n != 2 {
				t.Errorf("bob joined %d times after leaving, want 2", n)
			}
			if s := bob.status(t); s != "left" {
				t.Errorf("bob's status is %q after leaving", s)
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			break
		}
	}
	for _, p := range []*chatPage{alice, bob} {
		p.noExceptions(t)
	}
}
