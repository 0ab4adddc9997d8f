package tests

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// A Go worker that takes a request and closes without answering: counted
// unanswered; the client is not left hanging for the others.
func TestInprocRequestWorkerClosingMidRequest(t *testing.T) {
	const yaml = `
endpoints:
  cli: {kind: inproc}
  wrk: {kind: inproc}
routes:
  - {pattern: request, from: cli, to: wrk}
`
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, yaml)
			ctx := ioCtx(t)
			bad := attach(t, r, "wrk")
			waitFor(t, "worker", func() bool { return endpoint(r.Stats(), "wrk").Active == 1 })
			cli := attach(t, r, "cli")
			sendText(t, ctx, cli, "one")
			if got := recvText(t, ctx, bad); got != "one" {
				t.Fatalf("worker got %q", got)
			}
			bad.Close()
			waitFor(t, "unanswered", func() bool { return r.Stats().Endpoint("wrk").Unanswered == 1 })
			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			var served atomic.Int64
			go r.Inproc("wrk").Serve(sctx, func(req router.Message) router.Message {
				served.Add(1)
				time.Sleep(time.Millisecond)
				return router.Message{[]byte("re:"), req[0]}
			})
			waitFor(t, "the new worker", func() bool { return endpoint(r.Stats(), "wrk").Active == 1 })
			for i := range 50 {
				sendText(t, ctx, cli, fmt.Sprint(i))
			}
			for i := range 50 {
				m, err := cli.Recv(ctx)
				if err != nil {
					e := r.Stats().Endpoint("wrk")
					c := r.Stats().Endpoint("cli")
					t.Fatalf("reply %d: %v; served %d; wrk %+v; cli %+v", i, err, served.Load(), e, c)
				}
				if got, want := string(m[0])+"|"+string(m[1]), fmt.Sprintf("re:|%d", i); got != want {
					t.Fatalf("got %q want %q", got, want)
				}
			}
			cancel()
			waitFor(t, "worker gone", func() bool { return endpoint(r.Stats(), "wrk").Active == 0 })
			checkAccounting(t, r, "cli", "wrk")
		})
	}
}

// Stop while Sends are blocked under overflow: block: they return.
func TestInprocStopReleasesBlockedSends(t *testing.T) {
	const yaml = `
endpoints:
  pub: {kind: inproc, queue: 4KiB}
  sub: {kind: inproc, queue: 4KiB, high_water: 4KiB}
routes:
  - {pattern: fanout, from: pub, to: sub, overflow: block}
`
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r, err := router.LoadBytes("t.yaml", []byte(yaml), router.Options{Loops: v.loops, Engine: v.engine})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			g0 := runtime.NumGoroutine()
			sub, err := r.Inproc("sub").Attach()
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "sub", func() bool { return endpoint(r.Stats(), "sub").Active == 1 })
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for range 4 {
				c, err := r.Inproc("pub").Attach()
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						if err := c.Send(context.Background(), make([]byte, 700)); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			time.Sleep(200 * time.Millisecond)
			stopped := make(chan error, 1)
			go func() { stopped <- r.StopWithin(200 * time.Millisecond) }()
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("blocked sends did not return after Stop")
			}
			if err := <-stopped; err != nil {
				t.Fatal(err)
			}
			close(errs)
			for err := range errs {
				if !errors.Is(err, router.ErrClosed) {
					t.Errorf("send: %v", err)
				}
			}
			for {
				if _, err := sub.Recv(context.Background()); err != nil {
					if err != io.EOF && err != io.ErrUnexpectedEOF {
						t.Fatalf("sub: %v", err)
					}
					break
				}
			}
			checkAccounting(t, r, "pub", "sub")
			waitFor(t, "goroutines flat", func() bool { return runtime.NumGoroutine() <= g0 })
		})
	}
}
