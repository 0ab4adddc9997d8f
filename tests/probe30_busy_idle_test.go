package tests

import (
	"fmt"
	"testing"
	"time"
)

// Probe 30: an idle daemon with busy_poll at its largest window stops
// spinning even when its loops have timers of their own: an idle sweep
// (idle_timeout), a frame_timeout, a connect endpoint in reconnect
// backoff, an idle client connected: after each timer's window the loop
// sleeps again.
func TestProbe30BusyPollIdleWithTimers(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			dead := listenLocal(t)
			deadAddr := dead.Addr().String()
			dead.Close() // refused: the connect endpoint backs off
			r := start(t, v, fmt.Sprintf(`
busy_poll: 10ms
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: lines, idle_timeout: 1h, frame_timeout: 1h}
  back:  {kind: tcp, connect: %q, framing: lines, reconnect_initial: 100ms, reconnect_max: 200ms}
routes:
  - {pattern: fanout, from: front, to: back}
`, deadAddr))
			c := dial(t, r.Addr("front"))
			c.Write([]byte("one line\n"))
			time.Sleep(300 * time.Millisecond)
			before := r.Stats()
			time.Sleep(time.Second)
			after := r.Stats()
			var polls, wakes uint64
			for i := range after.Loops {
				polls += after.Loops[i].BusyPolls - before.Loops[i].BusyPolls
				wakes += after.Loops[i].Wakeups - before.Loops[i].Wakeups
			}
			t.Logf("over a quiet second: %d busy polls, %d wake-ups; back %+v; loops %+v", polls, wakes, endpoint(after, "back"), after.Loops)
			// Each reconnect attempt (every 100-200ms) is work that
			// opens one 10ms window; after it the loop must sleep again,
			// so it wakes once per attempt. A loop that kept spinning
			// would not sleep at all.
			tries := endpoint(after, "back").Opened - endpoint(before, "back").Opened
			if tries < 2 || wakes+1 < tries {
				t.Errorf("the loops spun while idle: %d reconnect attempts, %d wake-ups, %d busy polls in a second", tries, wakes, polls)
			}
		})
	}
}
