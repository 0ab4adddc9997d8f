package tests

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// Send into a route that blocks downstream waits while the destination
// is stalled, returns ctx's error when ctx ends, and sends nothing of that
// message; after the destination drains, the stream goes on intact.
func TestInprocSendBlockedReleasedByCtx(t *testing.T) {
	cases := []struct {
		name string
		size int // payload bytes of each message
	}{
		{"small-messages", 100},
		{"messages-of-half-the-queue", 2000},
	}
	for _, v := range variants() {
		for _, c := range cases {
			t.Run(v.String()+"/"+c.name, func(t *testing.T) {
				r := start(t, v, `
endpoints:
  pub:  {kind: inproc, queue: 4KiB}
  slow: {kind: inproc, queue: 4KiB, high_water_msgs: 4, overflow: block}
routes:
  - {pattern: fanout, from: pub, to: slow}
`)
				ctx := ioCtx(t)
				slow := attach(t, r, "slow")
				waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "slow").Active == 1 })
				pub := attach(t, r, "pub")
				body := bytes.Repeat([]byte("b"), c.size)
				// Send until one is held back, bounded by what the rings
				// and the mark can hold.
				sent, cancelled := 0, -1
				for i := range 1000 {
					short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
					err := pub.Send(short, []byte(strconv.Itoa(i)), body)
					cancel()
					if err == nil {
						sent++
						continue
					}
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Fatalf("send %d: %v, want the deadline", i, err)
					}
					cancelled = i
					break
				}
				if cancelled < 0 {
					t.Fatalf("1,000 sends into a stalled block route never waited")
				}
				t.Logf("sent %d, then send %d waited and was cancelled", sent, cancelled)
				// The destination drains; the next sends go through.
				const more = 100
				got := make(chan []string, 1)
				go func() {
					var names []string
					for range sent + more {
						m, err := slow.Recv(ctx)
						if err != nil || len(m) != 2 || !bytes.Equal(m[1], body) {
							t.Errorf("after %d: %d parts, %v", len(names), len(m), err)
							break
						}
						names = append(names, string(m[0]))
					}
					got <- names
				}()
				for i := cancelled + 1; i <= cancelled+more; i++ {
					if err := pub.Send(ctx, []byte(strconv.Itoa(i)), body); err != nil {
						t.Fatalf("send %d after the drain: %v", i, err)
					}
				}
				names := <-got
				want := 0
				for _, n := range names {
					if want == cancelled {
						want++
					}
					if n != strconv.Itoa(want) {
						t.Fatalf("the subscriber got message %s where %d was due (send %d was cancelled)", n, want, cancelled)
					}
					want++
				}
				if e := endpoint(r.Stats(), "pub"); e.Lost != nil && dropsOf(e.Lost) != 0 {
					t.Errorf("pub lost %v", e.Lost)
				}
				checkAccounting(t, r, "slow")
			})
		}
	}
}

// A message larger than the queue is written in pieces: a ctx that ends
// part way closes the attach (the router could not find the next
// message's start), and the part written is never delivered as a message.
func TestInprocSendLargerThanQueueCancelledClosesTheAttach(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, `
endpoints:
  pub:  {kind: inproc, queue: 4KiB, max_frame: 1MiB}
  slow: {kind: inproc, queue: 4KiB, high_water_msgs: 1, overflow: block}
routes:
  - {pattern: fanout, from: pub, to: slow}
`)
			ctx := ioCtx(t)
			slow := attach(t, r, "slow")
			waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "slow").Active == 1 })
			pub := attach(t, r, "pub")
			big := bytes.Repeat([]byte("L"), 64<<10)
			var err error
			for i := 0; i < 20 && err == nil; i++ {
				short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
				err = pub.Send(short, big)
				cancel()
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("send into a stalled route: %v, want the deadline", err)
			}
			if err := pub.Send(ctx, []byte("after")); !errors.Is(err, router.ErrClosed) {
				t.Fatalf("send after a torn one: %v, want ErrClosed", err)
			}
			for {
				short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
				m, err := slow.Recv(short)
				cancel()
				if err != nil {
					break
				}
				if len(m) != 1 || !bytes.Equal(m[0], big) {
					t.Fatalf("the subscriber got a message of %d parts, %d bytes", len(m), len(m[0]))
				}
			}
			waitFor(t, "the torn attach to close", func() bool { return endpoint(r.Stats(), "pub").Active == 0 })
			checkAccounting(t, r, "slow")
		})
	}
}
