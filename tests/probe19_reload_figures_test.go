package tests

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Figures by name during reloads that replace the inproc endpoints while
// they stream: never go back, and routes agree with endpoints.
func TestInprocFiguresByNameNeverGoBackAcrossReloads(t *testing.T) {
	const yaml = `
drain_timeout: 100ms
endpoints:
  pub: {kind: inproc, queue: QUEUE}
  sub: {kind: inproc}
routes:
  - {pattern: fanout, from: pub, to: sub}
`
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "t.yaml")
			write := func(q string) { os.WriteFile(file, []byte(strings.Replace(yaml, "QUEUE", q, 1)), 0o644) }
			write("4KiB")
			r := startFile(t, v, file)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			worker := func(name string, body func(ctx context.Context) error) {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					c, err := r.Inproc(name).Attach()
					if err != nil {
						t.Errorf("attach: %v", err)
						return
					}
					for {
						select {
						case <-stop:
							c.Close()
							return
						default:
						}
						ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
						var err error
						if name == "pub" {
							err = c.Send(ctx, []byte("m"))
						} else {
							_, err = c.Recv(ctx)
						}
						cancel()
						if err != nil {
							break
						}
					}
					c.Close()
				}
			}
			wg.Add(2)
			go worker("sub", nil)
			go worker("pub", nil)
			var bad atomic.Int64
			var first atomic.Value
			readerDone := make(chan struct{})
			go func() {
				defer close(readerDone)
				var lastR, lastE, lastIn uint64
				for {
					select {
					case <-stop:
						return
					default:
					}
					s := r.Stats()
					rt, sub, pub := s.Route("fanout pub->sub"), s.Endpoint("sub"), s.Endpoint("pub")
					if rt.Offered < lastR || sub.Offered < lastE || pub.MsgsIn < lastIn || rt.Name == "" || sub.Name == "" {
						if bad.Add(1) == 1 {
							first.Store([]uint64{lastR, rt.Offered, lastE, sub.Offered, lastIn, pub.MsgsIn})
						}
					}
					lastR, lastE, lastIn = rt.Offered, sub.Offered, pub.MsgsIn
				}
			}()
			for i := range 8 {
				write([]string{"8KiB", "4KiB"}[i%2])
				if _, err := r.Reload(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(60 * time.Millisecond)
			}
			close(stop)
			wg.Wait()
			<-readerDone
			if n := bad.Load(); n > 0 {
				t.Errorf("%d reads went back or lost a name; first (route before/after, sub offered before/after, pub in before/after): %v", n, first.Load())
			}
			checkAccounting(t, r, "pub", "sub")
		})
	}
}
