package tests

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// Reloads that replace a relay while its members on both loops exchange
// lines: batches in transit to a loop whose generation retires are
// counted, delivered or dropped, never lost: Offered = MsgsOut + drops +
// QueuedMsgs, and every line read in was offered to the other members.
func TestProbeFanOutWhileAGenerationRetires(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "t.yaml")
			version := func(n int) string {
				return fmt.Sprintf(`
drain_timeout: 100ms
endpoints:
  room: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_frame: %d}
routes:
  - {pattern: relay, members: room}
`, 4096+n)
			}
			writeFileAt(t, file, version(0))
			r := startFile(t, v, file)
			quit := make(chan struct{})
			var wg sync.WaitGroup
			for i := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					hammer(r.Addr, "room", i, quit)
				}()
			}
			for n := 1; n <= 40; n++ {
				writeFileAt(t, file, version(n))
				if _, err := r.Reload(); err != nil {
					close(quit)
					wg.Wait()
					t.Fatalf("reload %d: %v", n, err)
				}
			}
			close(quit)
			wg.Wait()
			waitFor(t, "room drained", func() bool { return endpoint(r.Stats(), "room").Active == 0 })
			waitFor(t, "one generation", func() bool { return r.Stats().Generations == 1 })
			e := endpoint(r.Stats(), "room")
			var drops uint64
			for _, n := range e.Drops {
				drops += n
			}
			t.Logf("room: in %d offered %d out %d drops %v queued %d opened %d", e.MsgsIn, e.Offered, e.MsgsOut, e.Drops, e.Queued, e.Opened)
			if e.Offered != e.MsgsOut+drops+uint64(e.Queued) {
				t.Errorf("room: offered %d != out %d + drops %d + queued %d", e.Offered, e.MsgsOut, drops, e.Queued)
			}
		})
	}
}
