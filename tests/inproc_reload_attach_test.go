package tests

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pxroute/pxroute/completion"
)

// Attaches made while reloads replace the endpoint: each is served by one
// generation (its echo comes back) or ends clearly (io.EOF or ErrClosed
// when its generation retires); none waits for ever, and none is refused:
// the router is running, and a reload retires the old generation before
// it starts the new, so an Attach in between waits for the new one.
func TestInprocAttachDuringReloads(t *testing.T) {
	const yaml = `
drain_timeout: 200ms
endpoints:
  app: {kind: inproc, max_frame: MAXFRAME}
routes:
  - {pattern: echo, members: app}
`
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "t.yaml")
			os.WriteFile(file, []byte(strings.Replace(yaml, "MAXFRAME", "64KiB", 1)), 0o644)
			r := startFile(t, v, file)
			stop := make(chan struct{})
			var served, ended, refused atomic.Int64
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						c, err := r.Inproc("app").Attach()
						if err != nil {
							if !errors.Is(err, completion.ErrListenerClosed) {
								t.Errorf("attach: %v", err)
								return
							}
							refused.Add(1)
							continue
						}
						ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
						err = c.Send(ctx, []byte("ping"))
						if err == nil {
							var m [][]byte
							m, err = c.Recv(ctx)
							if err == nil && (len(m) != 1 || string(m[0]) != "ping") {
								t.Errorf("echo %q", m)
							}
						}
						cancel()
						c.Close()
						switch {
						case err == nil:
							served.Add(1)
						case err == io.EOF || errors.Is(err, completion.ErrPipeClosed):
							ended.Add(1)
						default:
							t.Errorf("an attach during reloads: %v", err)
							return
						}
					}
				}()
			}
			for i := range 10 {
				size := []string{"32KiB", "64KiB"}[i%2]
				os.WriteFile(file, []byte(strings.Replace(yaml, "MAXFRAME", size, 1)), 0o644)
				if _, err := r.Reload(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			close(stop)
			wg.Wait()
			t.Logf("served %d, ended by a retirement %d, refused %d", served.Load(), ended.Load(), refused.Load())
			if served.Load() == 0 || refused.Load() != 0 {
				t.Fatalf("served %d, refused %d: want attaches served and none refused while the router runs", served.Load(), refused.Load())
			}
		})
	}
}
