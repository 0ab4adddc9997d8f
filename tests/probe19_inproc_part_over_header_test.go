package tests

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/router"
)

// A part's length must fit the inproc header's 31 bits whatever max_frame
// allows (it goes to 1TiB): Send refuses a longer part whole, before
// writing anything, instead of writing a header whose length wrapped into
// the "more parts follow" bit. The part is an anonymous read-only mapping:
// it costs no memory (reads see the zero page), and the heap never zeroes
// 2GiB for it.
func TestInprocPartOverTheHeaderIsRefused(t *testing.T) {
	const yaml = `
endpoints:
  pub: {kind: inproc, max_frame: 3GiB}
  sub: {kind: inproc, max_frame: 3GiB}
routes:
  - {pattern: fanout, from: pub, to: sub}
`
	big, err := unix.Mmap(-1, 0, 1<<31, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(big)
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, yaml)
			sub := attach(t, r, "sub")
			waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "sub").Active == 1 })
			pub := attach(t, r, "pub")
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			err := pub.Send(ctx, big)
			if !errors.Is(err, router.ErrTooLarge) {
				rctx, rcancel := context.WithTimeout(context.Background(), time.Second)
				defer rcancel()
				m, rerr := sub.Recv(rctx)
				t.Fatalf("send of a 2GiB part: %v, want ErrTooLarge; the subscriber got %d parts (%v), pub read %d messages",
					err, len(m), rerr, endpoint(r.Stats(), "pub").MsgsIn)
			}
			sendText(t, ioCtx(t), pub, "after")
			if got := recvText(t, ioCtx(t), sub); got != "after" {
				t.Fatalf("after the refusal the subscriber got %q", got)
			}
		})
	}
}
