package tests

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// Reloads racing a stop: the stop returns without error, each reload
// either applies or is refused as 'not running', and nothing is left
// running after (Done is closed, no listener accepts).
func TestProbeReloadDuringStop(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "t.yaml")
			version := func(n int) string {
				return fmt.Sprintf(`
drain_timeout: 50ms
endpoints:
  x: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_frame: %d}
routes:
  - {pattern: echo, members: x}
`, 4096+n)
			}
			for round := range 10 {
				writeFileAt(t, file, version(0))
				r, err := router.Load(file, router.Options{Loops: v.loops, Engine: v.engine, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
				if err != nil {
					t.Fatal(err)
				}
				if err := r.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
				errs := make(chan error, 1)
				go func() {
					var bad error
					for n := 1; n <= 20; n++ {
						writeFileAt(t, file, version(n+round*100))
						if _, err := r.Reload(); err != nil && !strings.Contains(err.Error(), "not running") {
							bad = fmt.Errorf("reload %d: %w", n, err)
						}
					}
					errs <- bad
				}()
				time.Sleep(time.Duration(round) * time.Millisecond)
				if err := r.StopWithin(time.Second); err != nil {
					t.Errorf("round %d: stop: %v", round, err)
				}
				if err := <-errs; err != nil {
					t.Errorf("round %d: %v", round, err)
				}
				select {
				case <-r.Done():
				case <-time.After(ioTimeout):
					t.Fatalf("round %d: not done after stop", round)
				}
				if a := r.Addr("x"); a != "" {
					if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
						c.Close()
						t.Errorf("round %d: x still accepts at %s after stop", round, a)
					}
				}
			}
		})
	}
}
