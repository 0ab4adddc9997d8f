package tests

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// randMsg is message i of a seeded stream: 0..6 parts of 0..maxPart bytes,
// each byte naming its message, part and offset.
func randMsg(rng *rand.Rand, i, maxPart int) [][]byte {
	n := rng.IntN(7)
	parts := make([][]byte, n)
	for p := range parts {
		b := make([]byte, rng.IntN(maxPart+1))
		for k := range b {
			b[k] = byte(i*31 + p*7 + k)
		}
		parts[p] = b
	}
	return parts
}

func sameMsg(got router.Message, want [][]byte) bool {
	if len(want) == 0 {
		return len(got) == 1 && len(got[0]) == 0
	}
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			return false
		}
	}
	return true
}

// Thousands of random multipart messages (0 to 6 parts, 0 to 6000 bytes
// each, so many wrap the 4KiB ring's end or exceed it) reach a fast and a
// slow subscriber byte for byte: Recv's lend-from-ring path and its copy
// path agree.
func TestInprocRandomMessagesThatWrapTheRingArriveWhole(t *testing.T) {
	const yaml = `
endpoints:
  pub:  {kind: inproc, queue: 4KiB, max_frame: 1MiB}
  fast: {kind: inproc, queue: 4KiB, max_frame: 1MiB}
  slow: {kind: inproc, queue: 4KiB, max_frame: 1MiB}
routes:
  - {pattern: fanout, from: pub, to: [fast, slow], overflow: block}
`
	const n = 3000
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, yaml)
			ctx := ioCtx(t)
			fast, slow := attach(t, r, "fast"), attach(t, r, "slow")
			waitFor(t, "subscribers", func() bool {
				s := r.Stats()
				return endpoint(s, "fast").Active == 1 && endpoint(s, "slow").Active == 1
			})
			pub := attach(t, r, "pub")
			var wg sync.WaitGroup
			errs := make(chan error, 3)
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(1, 2))
				for i := range n {
					if err := pub.Send(ctx, randMsg(rng, i, 6000)...); err != nil {
						errs <- fmt.Errorf("send %d: %w", i, err)
						return
					}
				}
			}()
			for k, c := range []*router.InprocConn{fast, slow} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(1, 2))
					for i := range n {
						if k == 1 && i%50 == 0 {
							time.Sleep(time.Millisecond)
						}
						want := randMsg(rng, i, 6000)
						m, err := c.Recv(ctx)
						if err != nil {
							errs <- fmt.Errorf("sub %d recv %d: %w", k, i, err)
							return
						}
						if !sameMsg(m, want) {
							errs <- fmt.Errorf("sub %d message %d: got %d parts, want %d", k, i, len(m), len(want))
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			checkAccounting(t, r, "pub", "fast", "slow")
		})
	}
}

// Eight goroutines Send on one attach: every message arrives whole, in
// each sender's order.
func TestInprocSendersOnOneAttachNeverInterleave(t *testing.T) {
	const yaml = `
endpoints:
  pub: {kind: inproc, queue: 4KiB, max_frame: 1MiB}
  sub: {kind: inproc, queue: 4KiB, max_frame: 1MiB}
routes:
  - {pattern: fanout, from: pub, to: sub, overflow: block}
`
	const g, per = 8, 300
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, yaml)
			ctx := ioCtx(t)
			sub := attach(t, r, "sub")
			waitFor(t, "sub", func() bool { return endpoint(r.Stats(), "sub").Active == 1 })
			pub := attach(t, r, "pub")
			var wg sync.WaitGroup
			for w := range g {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range per {
						a := bytes.Repeat([]byte{byte('a' + w)}, 100+i*7%5000)
						b := bytes.Repeat([]byte{byte('A' + w)}, i%3000)
						if err := pub.Send(ctx, a, b); err != nil {
							t.Errorf("send: %v", err)
							return
						}
					}
				}()
			}
			next := make([]int, g)
			for range g * per {
				m, err := sub.Recv(ctx)
				if err != nil {
					t.Fatalf("recv: %v", err)
				}
				if len(m) != 2 || len(m[0]) == 0 {
					t.Fatalf("got %d parts", len(m))
				}
				w := int(m[0][0] - 'a')
				i := next[w]
				next[w]++
				if !bytes.Equal(m[0], bytes.Repeat([]byte{byte('a' + w)}, 100+i*7%5000)) || !bytes.Equal(m[1], bytes.Repeat([]byte{byte('A' + w)}, i%3000)) {
					t.Fatalf("writer %d message %d not whole: %d+%d bytes", w, i, len(m[0]), len(m[1]))
				}
			}
			wg.Wait()
			checkAccounting(t, r, "pub", "sub")
		})
	}
}

// No parts, empty parts, thousands of parts, parts of the queue's size
// and one either side, messages of exactly max_frame (headers included)
// and one byte over.
func TestInprocMessageSizesAtTheBounds(t *testing.T) {
	const yaml = `
endpoints:
  pub: {kind: inproc, queue: 4KiB, max_frame: 64KiB}
  sub: {kind: inproc, queue: 4KiB, max_frame: 64KiB}
routes:
  - {pattern: fanout, from: pub, to: sub, overflow: block}
`
	type c struct {
		name  string
		parts [][]byte
		err   error
	}
	mk := func(sizes ...int) [][]byte {
		out := make([][]byte, len(sizes))
		for i, s := range sizes {
			out[i] = bytes.Repeat([]byte{byte('a' + i%26)}, s)
		}
		return out
	}
	many := make([]int, 3000)
	for i := range many {
		many[i] = i % 3
	}
	cases := []c{
		{"no-parts", nil, nil},
		{"one-empty", mk(0), nil},
		{"three-empty", mk(0, 0, 0), nil},
		{"thousands-of-parts", mk(many...), nil},
		{"part-queue-1", mk(4096 - 1), nil},
		{"part-queue", mk(4096), nil},
		{"part-queue+1", mk(4096 + 1), nil},
		{"msg-queue-with-header", mk(4096 - 4), nil},
		{"exactly-max-frame", mk(64<<10 - 4), nil},
		{"exactly-max-frame-2-parts", mk(32<<10, 32<<10-8), nil},
		{"one-over-max-frame", mk(64<<10 - 3), router.ErrTooLarge},
		{"one-over-max-frame-2-parts", mk(32<<10, 32<<10-7), router.ErrTooLarge},
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, yaml)
			ctx := ioCtx(t)
			sub := attach(t, r, "sub")
			waitFor(t, "sub", func() bool { return endpoint(r.Stats(), "sub").Active == 1 })
			pub := attach(t, r, "pub")
			for _, k := range cases {
				err := pub.Send(ctx, k.parts...)
				if !errors.Is(err, k.err) {
					t.Fatalf("%s: send: %v, want %v", k.name, err, k.err)
				}
				if err != nil {
					continue
				}
				m, err := sub.Recv(ctx)
				if err != nil || !sameMsg(m, k.parts) {
					t.Fatalf("%s: got %d parts, %v", k.name, len(m), err)
				}
			}
			waitFor(t, "published", func() bool { return endpoint(r.Stats(), "sub").MsgsOut == uint64(len(cases)-2) })
			checkAccounting(t, r, "pub", "sub")
			if e := endpoint(r.Stats(), "pub"); e.MsgsIn != uint64(len(cases)-2) {
				t.Fatalf("pub read %d", e.MsgsIn)
			}
		})
	}
}

// Close while a Recv and a Send are blocked; CloseSend then Send.
func TestInprocCloseReleasesBlockedSendAndRecv(t *testing.T) {
	const yaml = `
endpoints:
  pub: {kind: inproc, queue: 4KiB}
  sub: {kind: inproc, queue: 4KiB, high_water: 4KiB}
routes:
  - {pattern: fanout, from: pub, to: sub, overflow: block}
`
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, yaml)
			ctx := ioCtx(t)
			sub := attach(t, r, "sub")
			waitFor(t, "sub", func() bool { return endpoint(r.Stats(), "sub").Active == 1 })
			pub := attach(t, r, "pub")
			blocked := make(chan error, 1)
			go func() {
				for {
					if err := pub.Send(ctx, make([]byte, 1000)); err != nil {
						blocked <- err
						return
					}
				}
			}()
			time.Sleep(100 * time.Millisecond)
			pub.Close()
			select {
			case err := <-blocked:
				if !errors.Is(err, router.ErrClosed) {
					t.Fatalf("blocked send: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("blocked send did not return after Close")
			}
			rc := make(chan error, 1)
			s2 := attach(t, r, "sub")
			go func() { _, err := s2.Recv(ctx); rc <- err }()
			time.Sleep(20 * time.Millisecond)
			s2.Close()
			select {
			case err := <-rc:
				if !errors.Is(err, router.ErrClosed) {
					t.Fatalf("blocked recv: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("blocked recv did not return after Close")
			}
			p2 := attach(t, r, "pub")
			p2.CloseSend()
			if err := p2.Send(ctx, []byte("x")); !errors.Is(err, router.ErrClosed) {
				t.Fatalf("send after CloseSend: %v", err)
			}
			go func() {
				for {
					if _, err := sub.Recv(ctx); err != nil {
						return
					}
				}
			}()
			p2.Close()
			waitFor(t, "pubs closed", func() bool { return endpoint(r.Stats(), "pub").Active == 0 })
			checkAccounting(t, r, "pub", "sub")
		})
	}
}

// Attach/Close churn while traffic flows: no attach gets another's bytes.
func TestInprocAttachChurnKeepsAttachesApart(t *testing.T) {
	const yaml = `
endpoints:
  app: {kind: inproc, queue: 4KiB}
routes:
  - {pattern: echo, members: app}
`
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, yaml)
			ctx := ioCtx(t)
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 500 {
						c, err := r.Inproc("app").Attach()
						if err != nil {
							t.Errorf("attach: %v", err)
							return
						}
						tag := fmt.Sprintf("w%d-%d", w, i)
						for k := range i % 4 {
							if err := c.Send(ctx, []byte(tag), []byte{byte(k)}); err != nil {
								t.Errorf("send: %v", err)
								c.Close()
								return
							}
						}
						if i%3 == 0 {
							for k := range i % 4 {
								m, err := c.Recv(ctx)
								if err != nil || len(m) != 2 || string(m[0]) != tag || m[1][0] != byte(k) {
									t.Errorf("%s got %q %v", tag, m, err)
									c.Close()
									return
								}
							}
						}
						if i%5 == 0 {
							c.CloseSend()
							for {
								m, err := c.Recv(ctx)
								if err == io.EOF {
									break
								}
								if err != nil || string(m[0]) != tag {
									t.Errorf("%s got %q %v", tag, m, err)
									break
								}
							}
						}
						c.Close()
					}
				}()
			}
			wg.Wait()
			waitFor(t, "all closed", func() bool { return endpoint(r.Stats(), "app").Active == 0 })
			checkAccounting(t, r, "app")
		})
	}
}
