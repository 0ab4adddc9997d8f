package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// probeStormReloads is how many reloads each variant makes.
const probeStormReloads = 200

// A storm of reloads, each replacing one component, adding or removing
// another, while clients connect, send and hang up on every endpoint:
// every reload succeeds, no figure is lost (Offered = MsgsOut + drops +
// QueuedMsgs for every endpoint, every line read counted in), and once the
// clients are gone the process is back to its threads, goroutines and
// descriptors from before the storm.
func TestProbeReloadStormUnderClients(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "t.yaml")
			version := func(n int) string {
				extra := ""
				if n%2 == 1 {
					extra = "  extra: {kind: tcp, listen: \"127.0.0.1:0\", framing: lines}\n"
				}
				route := ""
				if n%2 == 1 {
					route = "  - {pattern: echo, members: extra}\n"
				}
				return fmt.Sprintf(`
drain_timeout: 200ms
endpoints:
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  x:    {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_frame: %d, idle_timeout: %dms}
%sroutes:
  - {pattern: relay, members: chat}
  - {pattern: echo, members: x}
%s`, 4096+n, 2000+n, extra, route)
			}
			writeFileAt(t, file, version(0))
			r := startFile(t, v, file)
			writeFileAt(t, file, version(1))
			if _, err := r.Reload(); err != nil {
				t.Fatal(err)
			}
			writeFileAt(t, file, version(2))
			if _, err := r.Reload(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the first runtimes retired", func() bool { return r.Stats().Generations == 2 })
			base := measureRetire(t, r)

			quit := make(chan struct{})
			var wg sync.WaitGroup
			for i, name := range []string{"chat", "x", "x", "extra"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					hammer(r.Addr, name, i, quit)
				}()
			}
			for n := 3; n < 3+probeStormReloads; n++ {
				writeFileAt(t, file, version(n))
				if _, err := r.Reload(); err != nil {
					close(quit)
					wg.Wait()
					t.Fatalf("reload %d: %v", n, err)
				}
			}
			close(quit)
			wg.Wait()
			for _, name := range []string{"chat", "x", "extra"} {
				waitFor(t, name+" drained", func() bool { return endpoint(r.Stats(), name).Active == 0 })
			}
			var got retireFigures
			deadline := time.Now().Add(ioTimeout)
			for {
				got = measureRetire(t, r)
				if got.within(base, v.loops) && r.Stats().Generations <= 2 || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Logf("before the storm: %v; after %d reloads: %v, %d generations", base, probeStormReloads, got, r.Stats().Generations)
			if !got.within(base, v.loops) {
				t.Errorf("after %d reloads: %v; before: %v", probeStormReloads, got, base)
			}
			s := r.Stats()
			for _, e := range s.Endpoints {
				var drops uint64
				for _, n := range e.Drops {
					drops += n
				}
				if e.Offered != e.MsgsOut+drops+uint64(e.QueuedMsgs) {
					t.Errorf("%s: offered %d != out %d + drops %d (%v) + queued %d", e.Name, e.Offered, e.MsgsOut, drops, e.Drops, e.QueuedMsgs)
				}
				t.Logf("%s: in %d offered %d out %d drops %v opened %d", e.Name, e.MsgsIn, e.Offered, e.MsgsOut, e.Drops, e.Opened)
			}
		})
	}
}

// hammer connects to the endpoint name (wherever it listens now) over and
// over until quit: each connection sends a few lines and reads what comes
// back for a moment, then hangs up. Failures are expected: the endpoint
// may be retiring or gone.
func hammer(addr func(string) string, name string, seed int, quit <-chan struct{}) {
	for k := 0; ; k++ {
		select {
		case <-quit:
			return
		default:
		}
		a := addr(name)
		if a == "" {
			time.Sleep(time.Millisecond)
			continue
		}
		c, err := net.DialTimeout("tcp", a, time.Second)
		if err != nil {
			continue
		}
		c.SetDeadline(time.Now().Add(50 * time.Millisecond))
		for j := range 3 {
			io.WriteString(c, fmt.Sprintf("%d-%d-%d\n", seed, k, j))
		}
		br := bufio.NewReader(c)
		for {
			if _, err := br.ReadString('\n'); err != nil {
				break
			}
		}
		c.Close()
	}
}
