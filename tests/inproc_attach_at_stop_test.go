package tests

import (
	"context"
	"io"
	"testing"
	"time"
)

// An attach made just before Stop (or a reload that retires its
// endpoint) may have been taken from the listener's backlog with its
// accept not yet handled when the listener is cancelled: it must still
// end (io.EOF), not wait for ever. Cancel dropped such accepts and left
// their connections open, owned by nobody.
func TestInprocAttachJustBeforeStopEnds(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			stuck := 0
			const rounds = 20
			for range rounds {
				r := start(t, v, `
endpoints:
  feed: {kind: inproc}
  out:  {kind: inproc}
routes:
  - {pattern: fanout, from: feed, to: out}
`)
				a, b := attach(t, r, "out"), attach(t, r, "out")
				if err := r.StopWithin(time.Second); err != nil {
					t.Fatal(err)
				}
				for _, c := range [2]func(context.Context) error{
					func(ctx context.Context) error { _, err := a.Recv(ctx); return err },
					func(ctx context.Context) error { _, err := b.Recv(ctx); return err },
				} {
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					if err := c(ctx); err != io.EOF {
						stuck++
					}
					cancel()
				}
			}
			if stuck > 0 {
				t.Fatalf("%d of %d attaches made just before Stop never ended", stuck, 2*rounds)
			}
		})
	}
}
