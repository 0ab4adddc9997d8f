package tests

import (
	"bufio"
	"fmt"
	"strings"
	"testing"
)

// Dials that fail one after another (an exec endpoint at max_children, a
// connect target down) are one episode: logged once when it begins, once
// when a dial works again, and counted every time. A line per refused
// client let any client flood the log.
func TestDialFailuresAreLoggedOncePerEpisode(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			logs := &lockedBuffer{}
			r := startLogging(t, v, `
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  cat:   {kind: exec, command: [cat], framing: lines, max_children: 1}
routes:
  - {pattern: bridge, from: front, to: cat}
`, logs)
			served := dial(t, r.Addr("front"))
			fmt.Fprintln(served, "first")
			if got := readLines(t, bufio.NewReader(served), 1)[0]; got != "first" {
				t.Fatalf("the first client got %q", got)
			}
			const refused = 30
			for i := range refused {
				c := dial(t, r.Addr("front"))
				fmt.Fprintf(c, "client %d\n", i)
				if l, err := bufio.NewReader(c).ReadString('\n'); err == nil {
					t.Fatalf("client %d over max_children was served: %q", i, l)
				}
				c.Close()
			}
			waitFor(t, "every refusal counted", func() bool { return errorsOf(r.Stats(), "cat") == refused })
			if n := strings.Count(logs.String(), `msg="dial failed`); n < 1 || n > v.loops {
				t.Fatalf("%d refused dials logged %d \"dial failed\" lines, want one per loop at most (%d):\n%s", refused, n, v.loops, logs.String())
			}
			// The child goes; the next client is served, and the episode
			// ends in the log.
			served.Close()
			waitFor(t, "the child gone", func() bool { return endpoint(r.Stats(), "cat").Active == 0 })
			// Its place under max_children comes back once the child has
			// been reaped, which follows its connection's close: a client
			// before that is refused like the others (counted). Try until
			// one is served.
			var got string
			waitFor(t, "a client served again", func() bool {
				again := dial(t, r.Addr("front"))
				defer again.Close()
				fmt.Fprintln(again, "again")
				l, err := bufio.NewReader(again).ReadString('\n')
				got = strings.TrimSuffix(l, "\n")
				return err == nil
			})
			if got != "again" {
				t.Fatalf("after the refusals a client got %q", got)
			}
			waitFor(t, "the episode's end logged", func() bool { return strings.Contains(logs.String(), `msg="dialling works again"`) })
		})
	}
}
