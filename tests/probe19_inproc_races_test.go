package tests

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// Close racing Recv and Send on the same attach, many times, under -race.
func TestInprocCloseRacingSendAndRecv(t *testing.T) {
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
					rng := rand.New(rand.NewPCG(uint64(w), 9))
					for range 200 {
						c, err := r.Inproc("app").Attach()
						if err != nil {
							t.Error(err)
							return
						}
						var inner sync.WaitGroup
						inner.Add(2)
						go func() {
							defer inner.Done()
							for {
								m, err := c.Recv(ctx)
								if err != nil {
									if !errors.Is(err, router.ErrClosed) && err != io.EOF && err != io.ErrUnexpectedEOF {
										t.Errorf("recv: %v", err)
									}
									return
								}
								if len(m) != 2 || len(m[1]) != int(m[0][0])*100 {
									t.Errorf("echo not whole: %d parts", len(m))
								}
							}
						}()
						go func() {
							defer inner.Done()
							for i := 0; ; i++ {
								k := i % 40
								if err := c.Send(ctx, []byte{byte(k)}, make([]byte, k*100)); err != nil {
									if !errors.Is(err, router.ErrClosed) {
										t.Errorf("send: %v", err)
									}
									return
								}
							}
						}()
						time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond)
						c.Close()
						inner.Wait()
					}
				}()
			}
			wg.Wait()
			waitFor(t, "all closed", func() bool { return endpoint(r.Stats(), "app").Active == 0 })
			checkAccounting(t, r, "app")
		})
	}
}

// Block across loops: 4 Go publishers, 4 Go subscribers, everything
// delivered in order per publisher.
func TestInprocBlockManyPublishersManySubscribers(t *testing.T) {
	const yaml = `
endpoints:
  pub: {kind: inproc, queue: 4KiB}
  sub: {kind: inproc, queue: 4KiB, high_water: 8KiB}
routes:
  - {pattern: fanout, from: pub, to: sub, overflow: block}
`
	const pubs, subs, n = 4, 4, 2000
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, yaml)
			ctx := ioCtx(t)
			var ss []*router.InprocConn
			for range subs {
				ss = append(ss, attach(t, r, "sub"))
			}
			waitFor(t, "subs", func() bool { return endpoint(r.Stats(), "sub").Active == subs })
			var wg sync.WaitGroup
			for p := range pubs {
				c := attach(t, r, "pub")
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range n {
						if err := c.Send(ctx, []byte{byte(p)}, []byte(fmt.Sprint(i)), make([]byte, i%700)); err != nil {
							t.Errorf("send: %v", err)
							return
						}
					}
				}()
			}
			for _, s := range ss {
				wg.Add(1)
				go func() {
					defer wg.Done()
					next := make([]int, pubs)
					for range pubs * n {
						m, err := s.Recv(ctx)
						if err != nil {
							t.Errorf("recv: %v", err)
							return
						}
						p := int(m[0][0])
						if string(m[1]) != fmt.Sprint(next[p]) || len(m[2]) != next[p]%700 {
							t.Errorf("from %d got %s, want %d", p, m[1], next[p])
							return
						}
						next[p]++
					}
				}()
			}
			wg.Wait()
			checkAccounting(t, r, "pub", "sub")
			if e := endpoint(r.Stats(), "sub"); e.MsgsOut != pubs*n*subs || dropsOf(e.Drops) != 0 {
				t.Fatalf("delivered %d drops %v", e.MsgsOut, e.Drops)
			}
		})
	}
}
