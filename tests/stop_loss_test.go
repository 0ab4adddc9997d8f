package tests

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// stopRuns is how many times each variant stops a fan-out under traffic.
const stopRuns = 8

// Issue 16 defect 1: with two loops, a read completing after Stop was
// acknowledged posted its messages to a loop that had finished: they were
// neither offered nor counted. Every message read must be offered to every
// subscriber or counted at its source as lost.
func TestStopUnderTrafficLosesNothingUncounted(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			for run := range stopRuns {
				stopFanoutUnderTraffic(t, v, run)
			}
		})
	}
}

func stopFanoutUnderTraffic(t *testing.T, v variant, run int) {
	t.Helper()
	r := start(t, v, `
endpoints:
  pub: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: subs}
`)
	for range 3 {
		go io.Copy(io.Discard, dial(t, r.Addr("subs")))
	}
	waitFor(t, "subscribers", func() bool { return endpoint(r.Stats(), "subs").Active == 3 })
	line := strings.Repeat("x", 63) + "\n"
	chunk := strings.Repeat(line, 1024)
	pub := dial(t, r.Addr("pub"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := io.WriteString(pub, chunk); err != nil {
				return
			}
		}
	}()
	waitFor(t, "traffic", func() bool { return endpoint(r.Stats(), "subs").MsgsOut > 10000 })
	if err := r.StopWithin(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	pub.Close()
	<-done
	s := r.Stats()
	p, subs := endpoint(s, "pub"), endpoint(s, "subs")
	lost := lostAt(s, "pub")
	if got, want := subs.Offered, 3*(p.MsgsIn-lost); got != want {
		t.Errorf("run %d: pub read %d messages, %d counted lost at it; subs were offered %d, want 3 × %d = %d (%d unaccounted)",
			run, p.MsgsIn, lost, got, p.MsgsIn-lost, want, int64(want)-int64(got))
	}
	if err := reconcile(s, "subs"); err != nil {
		t.Errorf("run %d: %v", run, err)
	}
}

// lostAt sums the messages read from endpoint name that were counted lost
// at it, as a source.
func lostAt(s router.Stats, name string) uint64 {
	n := uint64(0)
	for _, e := range s.Endpoints {
		if e.Name == name {
			for _, d := range e.Lost {
				n += d
			}
		}
	}
	return n
}

// reconcile checks Offered = delivered + dropped + queued for endpoint name.
func reconcile(s router.Stats, name string) error {
	for _, e := range s.Endpoints {
		if e.Name != name {
			continue
		}
		dropped := uint64(0)
		for _, d := range e.Drops {
			dropped += d
		}
		if e.Offered != e.MsgsOut+dropped+uint64(e.QueuedMsgs) {
			return fmt.Errorf("%s: offered %d != delivered %d + dropped %d + queued %d", name, e.Offered, e.MsgsOut, dropped, e.QueuedMsgs)
		}
		return nil
	}
	return fmt.Errorf("no endpoint %s", name)
}
