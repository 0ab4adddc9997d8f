package tests

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// TestNATSReload: a reload that keeps a nats endpoint keeps its
// connection; one that changes it replaces it (and its route's members)
// cleanly: one connection
// again, the router's origin the same (its own messages never come back
// to it), and another daemon counts no gap when the new endpoint's
// sequence numbers start again.
func TestNATSReload(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	const yaml = `
drain_timeout: 200ms
endpoints:
  local: {kind: tcp, listen: "%s", framing: lines}
  side: {kind: tcp, listen: "127.0.0.1:0", framing: lines%s}
  room: {kind: nats, servers: [%q], subject: %s, ping_interval: %s, reconnect_initial: 20ms, reconnect_max: 100ms}
routes:
  - {pattern: relay, members: [local, room]}
  - {pattern: relay, members: [side]}
`
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			subject := natsSubject("reload", v)
			port := freePort(t)
			file := filepath.Join(t.TempDir(), "a.yaml")
			write := func(side, ping string) {
				os.WriteFile(file, []byte(fmt.Sprintf(yaml, port, side, srv.URL(), subject, ping)), 0o644)
			}
			write("", "200ms")
			a := startFile(t, v, file)
			b := start(t, v, fmt.Sprintf(yaml, "127.0.0.1:0", "", srv.URL(), subject, "200ms"))
			natsUp(t, a, "room")
			natsUp(t, b, "room")
			a1, a2, b1 := dial(t, a.Addr("local")), dial(t, a.Addr("local")), dial(t, b.Addr("local"))
			r1, r2, rb := bufio.NewReader(a1), bufio.NewReader(a2), bufio.NewReader(b1)
			waitFor(t, "members joined", func() bool {
				return a.Stats().Endpoint("local").Active == 2 && b.Stats().Endpoint("local").Active == 1
			})
			// say has a1 and b1 say a line each: a2 hears both, b1 a's,
			// a1 b's, each once (a duplicate would be read in place of a
			// later round's line).
			say := func(round string) {
				t.Helper()
				fmt.Fprintf(a1, "%s from a\n", round)
				fmt.Fprintf(b1, "%s from b\n", round)
				for _, c := range []struct {
					name string
					rd   *bufio.Reader
					want []string
				}{
					{"a1", r1, []string{round + " from b"}},
					{"a2", r2, []string{round + " from a", round + " from b"}},
					{"b1", rb, []string{round + " from a"}},
				} {
					got := readLines(t, c.rd, len(c.want))
					sort.Strings(got)
					if fmt.Sprint(got) != fmt.Sprint(c.want) {
						t.Fatalf("%s heard %q, want %q", c.name, got, c.want)
					}
				}
			}
			say("before")

			write(", max_frame: 1000", "200ms") // side changes: room kept
			if ch, err := a.Reload(); err != nil || !contains(ch.Kept, "room") {
				t.Fatalf("reload: %v %v", ch, err)
			}
			say("kept")
			if e := a.Stats().Endpoint("room"); e.Opened != 1 {
				t.Fatalf("a kept endpoint reconnected: %+v", e)
			}

			write(", max_frame: 1000", "300ms") // room changes: replaced
			if ch, err := a.Reload(); err != nil || !contains(ch.Replaced, "room") {
				t.Fatalf("reload: %v %v", ch, err)
			}
			natsUp(t, a, "room")
			// The route's members are replaced with it: they join again.
			a1, a2 = dial(t, a.Addr("local")), dial(t, a.Addr("local"))
			r1, r2 = bufio.NewReader(a1), bufio.NewReader(a2)
			waitFor(t, "members back", func() bool { return a.Stats().Endpoint("local").Active == 2 })
			say("replaced")
			for range 3 {
				say("again")
			}
			if e := b.Stats().Endpoint("room"); e.Lost["nats_gap"] != 0 || e.Session["echo"] != 0 {
				t.Fatalf("b counts a gap or an echo after a's reload: %+v", e)
			}
			if e := a.Stats().Endpoint("room"); e.Session["echo"] != 0 || e.Active != 1 {
				t.Fatalf("a after its reload: %+v", e)
			}
		})
	}
}
