package tests

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Probe 30: cross-loop fan-out (inbox mail) with and without busy_poll:
// every subscriber, whichever loop it is on, gets every line, in order.
// The loops' wake-ups and mail are logged side by side: with busy_poll a
// loop kept awake by the traffic takes its mail without an eventfd.
func TestProbe30BusyPollCrossLoopFanout(t *testing.T) {
	const lines, subs = 20000, 4
	for _, v := range variants() {
		if v.loops < 2 {
			continue
		}
		for _, poll := range []string{"0s", "10ms"} {
			t.Run(v.String()+"/busy_poll="+poll, func(t *testing.T) {
				r := start(t, v, fmt.Sprintf(`
busy_poll: %s
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: 64MiB}
routes:
  - {pattern: fanout, from: pub, to: subs}
`, poll))
				var readers []*bufio.Reader
				for range subs {
					c := dial(t, r.Addr("subs"))
					c.SetDeadline(time.Time{})
					readers = append(readers, bufio.NewReader(steady(c)))
				}
				waitFor(t, "subscribers", func() bool { return endpoint(r.Stats(), "subs").Active == subs })
				before := r.Stats()
				pub := dial(t, r.Addr("pub"))
				errs := make(chan error, subs)
				for _, rd := range readers {
					go func() {
						for i := range lines {
							l, err := rd.ReadString('\n')
							if err != nil {
								errs <- fmt.Errorf("line %d: %v", i, err)
								return
							}
							if n, err := strconv.Atoi(strings.TrimSuffix(l, "\n")); err != nil || n != i {
								errs <- fmt.Errorf("line %d: got %q", i, l)
								return
							}
						}
						errs <- nil
					}()
				}
				w := bufio.NewWriter(pub)
				for i := range lines {
					fmt.Fprintf(w, "%d\n", i)
					if i%200 == 199 {
						w.Flush()
						time.Sleep(200 * time.Microsecond)
					}
				}
				w.Flush()
				for range subs {
					if err := <-errs; err != nil {
						t.Fatal(err)
					}
				}
				after := r.Stats()
				var wakes, mail, polls uint64
				for i := range after.Loops {
					wakes += after.Loops[i].Wakeups - before.Loops[i].Wakeups
					mail += after.Loops[i].Mail - before.Loops[i].Mail
					polls += after.Loops[i].BusyPolls - before.Loops[i].BusyPolls
				}
				t.Logf("busy_poll %s: %d wake-ups, %d mail, %d busy polls for %d lines to %d subscribers", poll, wakes, mail, polls, lines, subs)
				if e := endpoint(after, "subs"); e.MsgsOut != lines*subs || len(nonZero(e.Drops)) > 0 {
					t.Errorf("subs: %d out of %d, drops %v", e.MsgsOut, lines*subs, nonZero(e.Drops))
				}
				checkAccounting(t, r, "pub", "subs")
			})
		}
	}
}
