package tests

import (
	"bufio"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
	"github.com/pxroute/pxroute/topology"
)

// busyPolls is every loop's count of waits that polled without sleeping.
func busyPolls(s router.Stats) (n uint64) {
	for _, l := range s.Loops {
		n += l.BusyPolls
	}
	return n
}

// TestBusyPoll: with busy_poll set, the loops poll instead of sleeping
// while a bridge's round trips keep them busy, every byte still arrives,
// and once traffic stops they go back to sleep (an idle daemon does not
// spin). Without it they never poll. A reload turns it on and off.
func TestBusyPoll(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			back := echoServer(t)
			topo := func(poll string) string {
				return fmt.Sprintf(`
%sendpoints:
  front: {kind: tcp, listen: "127.0.0.1:0"}
  back:  {kind: tcp, connect: "%s"}
routes:
  - {pattern: bridge, from: front, to: back}
`, poll, back)
			}
			r := start(t, v, topo("busy_poll: 2ms\n"))
			pingPong := func(n int) {
				t.Helper()
				c := dial(t, r.Addr("front"))
				br := bufio.NewReader(c)
				for i := range n {
					line := fmt.Sprintf("round trip %d\n", i)
					if _, err := c.Write([]byte(line)); err != nil {
						t.Fatal(err)
					}
					got, err := br.ReadString('\n')
					if err != nil || got != line {
						t.Fatalf("round trip %d: got %q, %v; want %q", i, got, err, line)
					}
				}
				c.Close()
			}
			pingPong(200)
			if busyPolls(r.Stats()) == 0 {
				t.Fatalf("busy_poll 2ms: no loop polled during 200 round trips")
			}
			// Idle: the window passes and every loop sleeps, so the
			// count stops (sampled well past the 2ms window).
			var before uint64
			waitFor(t, "the loops to stop polling once idle", func() bool {
				n := busyPolls(r.Stats())
				time.Sleep(20 * time.Millisecond)
				before = busyPolls(r.Stats())
				return n == before
			})
			time.Sleep(50 * time.Millisecond)
			if after := busyPolls(r.Stats()); after != before {
				t.Fatalf("idle loops kept polling: %d busy polls, then %d 50ms later", before, after)
			}

			reload := func(poll string) {
				t.Helper()
				c, err := topology.Load(t.Name()+".yaml", []byte(topo(poll)))
				if err != nil {
					t.Fatal(err)
				}
				ch, err := r.Apply(c)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(ch.String(), "busy_poll") {
					t.Errorf("reload change %q does not mention busy_poll", ch.String())
				}
			}
			reload("")
			off := busyPolls(r.Stats())
			pingPong(200)
			if n := busyPolls(r.Stats()); n != off {
				t.Fatalf("busy_poll off after reload: %d busy polls during 200 round trips", n-off)
			}
			reload("busy_poll: 1ms\n")
			pingPong(200)
			if busyPolls(r.Stats()) == off {
				t.Fatalf("busy_poll 1ms after reload: no loop polled during 200 round trips")
			}
		})
	}
}
