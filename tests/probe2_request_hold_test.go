package tests

import (
	"bufio"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestProbe2MultipartRequestsHeld: requests of several parts that find
// the one worker at max_outstanding wait in the router (a copy, parts and
// all) and reach it whole, in order, each answered to its asker; when the
// worker dies holding one, that one counts Unanswered and the held ones
// are counted, none lost uncounted.
func TestProbe2MultipartRequestsHeld(t *testing.T) {
	const yaml = `
endpoints:
  clients: {kind: tcp-parts, listen: "127.0.0.1:0"}
  workers: {kind: tcp-parts, listen: "127.0.0.1:0", max_outstanding: 1}
routes:
  - {pattern: request, from: clients, to: workers}
`
	for _, v := range variants() {
		for _, dies := range []bool{false, true} {
			name := v.String() + "/worker-answers"
			if dies {
				name = v.String() + "/worker-dies-holding-one"
			}
			t.Run(name, func(t *testing.T) {
				r := start(t, v, yaml)
				w := dial(t, r.Addr("workers"))
				workersJoined(t, r, "workers", 1)
				const n = 40
				c := dial(t, r.Addr("clients"))
				var wire []byte
				for k := range n {
					wire = append(wire, encodeParts(fmt.Sprintf("q%d", k), "", strings.Repeat("x", k*37))...)
				}
				if _, err := c.Write(wire); err != nil {
					t.Fatal(err)
				}
				wr := bufio.NewReader(steady(w))
				if dies {
					readParts(t, wr)
					waitFor(t, "the rest held", func() bool { return endpoint(r.Stats(), "clients").MsgsIn >= 2 })
					time.Sleep(50 * time.Millisecond)
					w.Close()
					waitFor(t, "the worker gone", func() bool { return endpoint(r.Stats(), "workers").Active == 0 })
					s := r.Stats()
					_, unanswered := replyFigures(s, "workers")
					cl := endpoint(s, "clients")
					if err := reconcile(s, "workers"); err != nil {
						t.Fatal(err)
					}
					t.Logf("clients in %d lost %v; workers offered %d out %d unanswered %d", cl.MsgsIn, cl.Lost, endpoint(s, "workers").Offered, endpoint(s, "workers").MsgsOut, unanswered)
					if unanswered != 1 {
						t.Fatalf("unanswered %d, want 1", unanswered)
					}
					held := cl.MsgsIn - 1
					var lost uint64
					for _, x := range cl.Lost {
						lost += x
					}
					if lost != held {
						t.Fatalf("client sent %d requests: 1 unanswered, %d counted lost (%v), want %d", cl.MsgsIn, lost, cl.Lost, held)
					}
					return
				}
				cr := bufio.NewReader(steady(c))
				for k := range n {
					got := readParts(t, wr)
					want := []string{fmt.Sprintf("q%d", k), "", strings.Repeat("x", k*37)}
					if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != 3 {
						t.Fatalf("worker got request %d as %.60q, want %.60q", k, got, want)
					}
					w.Write(encodeParts(append([]string{"re"}, got...)...))
					if rep := readParts(t, cr); strings.Join(rep, "|") != "re|"+strings.Join(want, "|") {
						t.Fatalf("reply %d is %.60q", k, rep)
					}
				}
				settledBalanced(t, r, "workers", "clients")
			})
		}
	}
}
