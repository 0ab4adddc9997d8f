package tests

import (
	"fmt"
	"testing"
	"time"
)

// Attaches made back to back must all be accepted: the loop that took
// the first from the listener's backlog once stopped asking to hear of
// the next (completion/virtual_port.go, acceptAll), and the rest waited
// in the backlog for good.
func TestInprocAttachBurstIsAccepted(t *testing.T) {
	for _, v := range variants() {
		for _, n := range []int{2, 3, 50} {
			t.Run(fmt.Sprintf("%s/%d-attaches", v, n), func(t *testing.T) {
				// Whether the loop takes the backlog between two dials is
				// timing: ten routers give it ten chances.
				for round := range 10 {
					r := start(t, v, `
endpoints:
  pub:  {kind: inproc}
  subs: {kind: inproc}
routes:
  - {pattern: fanout, from: pub, to: subs}
`)
					for range n {
						attach(t, r, "subs")
					}
					waitFor(t, fmt.Sprintf("round %d: %d attaches accepted", round, n), func() bool { return endpoint(r.Stats(), "subs").Active == uint64(n) })
					if e := endpoint(r.Stats(), "subs"); e.Opened != uint64(n) {
						t.Fatalf("round %d: opened %d, want %d", round, e.Opened, n)
					}
					r.StopWithin(time.Second)
				}
			})
		}
	}
}
