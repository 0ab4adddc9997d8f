package tests

import (
	"context"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// TestInprocAttachBurst: every attach is accepted, whether made after the
// one before was accepted or back to back, faster than the loop accepts.
// The listener's loop, having taken a backlog that was not empty, stopped
// asking to be woken for the next dial, so every attach after its first
// look stayed in the backlog for good.
func TestInprocAttachBurst(t *testing.T) {
	cases := []struct {
		name  string
		n     int
		burst bool // attach all, then wait; else wait for each in turn
	}{
		{"an-attach-after-one-accepted-is-accepted", 2, false},
		{"ten-attaches-one-at-a-time-are-all-accepted", 10, false},
		{"ten-attaches-in-a-burst-are-all-accepted", 10, true},
		{"a-hundred-attaches-in-a-burst-are-all-accepted", 100, true},
	}
	for _, v := range variants() {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				r := start(t, v, `
endpoints:
  feed: {kind: inproc}
  subs: {kind: inproc}
routes:
  - {pattern: fanout, from: feed, to: subs}
`)
				accepted := func(want int) {
					t.Helper()
					for deadline := time.Now().Add(ioTimeout); endpoint(r.Stats(), "subs").Active < uint64(want); time.Sleep(time.Millisecond) {
						if time.Now().After(deadline) {
							t.Fatalf("%d of %d attaches accepted after %v", endpoint(r.Stats(), "subs").Active, want, ioTimeout)
						}
					}
				}
				subs := make([]*router.InprocConn, tc.n)
				for i := range subs {
					c, err := r.Inproc("subs").Attach()
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close()
					subs[i] = c
					if !tc.burst {
						accepted(i + 1)
					}
				}
				accepted(tc.n)
				pub, err := r.Inproc("feed").Attach()
				if err != nil {
					t.Fatal(err)
				}
				defer pub.Close()
				ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
				defer cancel()
				if err := pub.Send(ctx, []byte("hello")); err != nil {
					t.Fatal(err)
				}
				for i, c := range subs {
					m, err := c.Recv(ctx)
					if err != nil || len(m) != 1 || string(m[0]) != "hello" {
						t.Fatalf("subscriber %d of %d got %q, %v", i, tc.n, m, err)
					}
				}
			})
		}
	}
}
