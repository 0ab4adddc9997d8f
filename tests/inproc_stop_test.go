package tests

import (
	"context"
	"errors"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// Stop: what was queued for an inproc subscriber either reaches it (read
// after Stop began: Recv returns it, then io.EOF) or is counted shutdown,
// never lost silently.
func TestInprocStopDrainsOrCountsShutdown(t *testing.T) {
	const msgs = 3000
	cases := []struct {
		name  string
		drain time.Duration
		read  bool // the subscriber reads while Stop drains
	}{
		{"a-reader-gets-everything-then-eof", 5 * time.Second, true},
		{"a-stalled-subscriber-has-the-rest-counted-shutdown", 100 * time.Millisecond, false},
	}
	for _, v := range variants() {
		for _, c := range cases {
			t.Run(v.String()+"/"+c.name, func(t *testing.T) {
				r := start(t, v, `
endpoints:
  pub: {kind: inproc}
  sub: {kind: inproc, queue: 4KiB, high_water: 16MiB, high_water_msgs: 100000}
routes:
  - {pattern: fanout, from: pub, to: sub}
`)
				ctx := ioCtx(t)
				sub := attach(t, r, "sub")
				waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "sub").Active == 1 })
				pub := attach(t, r, "pub")
				for i := range msgs {
					if err := pub.Send(ctx, []byte(strconv.Itoa(i)), []byte("payload of the message")); err != nil {
						t.Fatal(err)
					}
				}
				waitFor(t, "every message offered", func() bool { return endpoint(r.Stats(), "sub").Offered == msgs })
				stopped := make(chan error, 1)
				go func() { stopped <- r.StopWithin(c.drain) }()
				if !c.read {
					if err := <-stopped; err != nil {
						t.Fatalf("stop: %v", err)
					}
				}
				read := 0
				var end error
				for {
					m, err := sub.Recv(ctx)
					if err != nil {
						end = err
						break
					}
					if string(m[0]) != strconv.Itoa(read) {
						t.Fatalf("got message %s where %d was due", m[0], read)
					}
					read++
				}
				if c.read {
					if err := <-stopped; err != nil {
						t.Fatalf("stop: %v", err)
					}
				}
				// Once stopped, Recv keeps saying the end.
				if _, err := sub.Recv(ctx); !errors.Is(err, end) {
					t.Errorf("recv after the end: %v, then %v", end, err)
				}
				s := endpoint(r.Stats(), "sub")
				t.Logf("read %d of %d, then %v; figures: delivered %d, drops %v, queued %d", read, msgs, end, s.MsgsOut, s.Drops, s.Queued)
				if c.read && (read != msgs || end != io.EOF) {
					t.Fatalf("a reader during the drain read %d of %d, then %v; want all, then io.EOF", read, msgs, end)
				}
				if end != io.EOF && end != io.ErrUnexpectedEOF {
					t.Fatalf("after the stop, Recv: %v, want io.EOF", end)
				}
				if uint64(read) != s.MsgsOut {
					t.Errorf("read %d, counted delivered %d", read, s.MsgsOut)
				}
				if s.Offered != msgs || s.MsgsOut+s.Drops["shutdown"] != msgs || dropsOf(s.Drops) != s.Drops["shutdown"] || s.Queued != 0 {
					t.Errorf("offered %d = delivered %d + drops %v + queued %d: want every message delivered or counted shutdown", s.Offered, s.MsgsOut, s.Drops, s.Queued)
				}
				if !c.read && s.Drops["shutdown"] == 0 {
					t.Errorf("a stalled subscriber had nothing counted shutdown")
				}
			})
		}
	}
}

// Attach and Recv around the router's life: clear errors.
func TestInprocAttachOutsideTheRoutersLife(t *testing.T) {
	const yaml = `
endpoints:
  feed: {kind: inproc}
  out:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: feed, to: out}
`
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r, err := router.LoadBytes("t.yaml", []byte(yaml), router.Options{Loops: v.loops, Engine: v.engine})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Inproc("feed").Attach(); err == nil || !errorsMention(err, "feed", "not accepting") {
				t.Fatalf("attach before Start: %v", err)
			}
			if err := r.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			c, err := r.Inproc("feed").Attach()
			if err != nil {
				t.Fatal(err)
			}
			ctx := ioCtx(t)
			if err := r.StopWithin(time.Second); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Inproc("feed").Attach(); err == nil || !errorsMention(err, "feed", "not accepting") {
				t.Fatalf("attach after Stop: %v", err)
			}
			if _, err := c.Recv(ctx); err != io.EOF {
				t.Fatalf("recv on an attach after Stop: %v, want io.EOF", err)
			}
			if err := c.Send(ctx, []byte("late")); !errors.Is(err, router.ErrClosed) {
				t.Fatalf("send on an attach after Stop: %v, want ErrClosed", err)
			}
		})
	}
}
