package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// reloadsRetired is how many reloads each variant of
// TestReloadReleasesRetiredRuntimes makes: enough that anything kept per
// reload shows, few enough to stay quick under -race.
const reloadsRetired = 50

// A reload that replaces a component many times leaves nothing behind of
// the runtimes it retired once they have exited: no loops in Stats, no
// threads, goroutines or descriptors, no growth of /metrics. Their figures
// stay counted under the endpoint names that live on, so no counter ever
// goes backwards, even for a reader polling Stats while runtimes retire.
func TestReloadReleasesRetiredRuntimes(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "t.yaml")
			version := func(n int) string {
				return fmt.Sprintf(`
drain_timeout: 1s
endpoints:
  keep:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  other: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_frame: %d}
routes:
  - {pattern: echo, members: keep}
  - {pattern: echo, members: other}
`, 4096+n)
			}
			writeFileAt(t, file, version(0))
			r := startFile(t, v, file)
			keepConn := dial(t, r.Addr("keep"))
			keep := bufio.NewReader(keepConn)
			watch := watchCountersMonotonic(r)
			defer watch.stop(t)

			// traffic echoes one line on the kept endpoint's connection
			// and one on a fresh connection to the replaced endpoint,
			// then waits until that connection is gone again.
			traffic := func(n int) {
				t.Helper()
				line := fmt.Sprintf("line %d", n)
				io.WriteString(keepConn, line+"\n")
				if got := readLines(t, keep, 1)[0]; got != line {
					t.Fatalf("keep echoed %q, want %q", got, line)
				}
				c := dial(t, r.Addr("other"))
				io.WriteString(c, line+"\n")
				if got := readLines(t, bufio.NewReader(c), 1)[0]; got != line {
					t.Fatalf("other echoed %q, want %q", got, line)
				}
				c.Close()
				waitFor(t, "the other connection closed", func() bool { return endpoint(r.Stats(), "other").Active == 0 })
			}
			reload := func(n int) {
				t.Helper()
				writeFileAt(t, file, version(n))
				ch, err := r.Reload()
				if err != nil {
					t.Fatalf("reload %d: %v", n, err)
				}
				if got, want := ch.String(), "replaced other; kept keep"; got != want {
					t.Fatalf("reload %d: %q, want %q", n, got, want)
				}
			}

			traffic(0)
			reload(1)
			traffic(1)
			// The first reload retires part of the first runtime only: the
			// figures now are what every later reload should come back to.
			base := measureRetire(t, r)
			for n := 2; n <= reloadsRetired; n++ {
				reload(n)
				traffic(n)
			}
			var got retireFigures
			deadline := time.Now().Add(ioTimeout)
			for {
				got = measureRetire(t, r)
				if got.within(base, v.loops) || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Logf("after the first reload: %v; after %d: %v", base, reloadsRetired, got)
			if !got.within(base, v.loops) {
				t.Errorf("after %d reloads: %v; after the first: %v (want %d loops, threads and goroutines within a few, fds and /metrics lines equal)",
					reloadsRetired, got, base, v.loops)
			}
			// Every message the retired runtimes handled is still counted.
			s := r.Stats()
			want := uint64(reloadsRetired + 1)
			for name, opened := range map[string]uint64{"keep": 1, "other": want} {
				e := endpoint(s, name)
				if e.MsgsIn != want || e.MsgsOut != want || e.Offered != want || e.Opened != opened {
					t.Errorf("%s: in %d, out %d, offered %d, opened %d; want %d, %d, %d, %d",
						name, e.MsgsIn, e.MsgsOut, e.Offered, e.Opened, want, want, want, opened)
				}
			}
		})
	}
}

// retireFigures are what a retired runtime must give back.
type retireFigures struct {
	loops, threads, goroutines, fds, metricsLines, metricsBytes int
}

func (f retireFigures) String() string {
	return fmt.Sprintf("%d loops in Stats, %d threads, %d goroutines, %d fds, /metrics %d lines (%d bytes)",
		f.loops, f.threads, f.goroutines, f.fds, f.metricsLines, f.metricsBytes)
}

// within reports whether f is back to base: the configured loops, the same
// descriptors and metric series, and threads and goroutines within a small
// constant (the Go runtime keeps a few spare), not growth with reloads.
func (f retireFigures) within(base retireFigures, loops int) bool {
	const slack = 4
	return f.loops == loops && f.fds == base.fds && f.metricsLines == base.metricsLines &&
		f.threads <= base.threads+slack && f.goroutines <= base.goroutines+slack
}

func measureRetire(t *testing.T, r *router.Router) retireFigures {
	t.Helper()
	s := r.Stats()
	var m bytes.Buffer
	router.WriteMetrics(&m, s)
	return retireFigures{
		loops:        len(s.Loops),
		threads:      osThreads(t),
		goroutines:   runtime.NumGoroutine(),
		fds:          openFDs(t),
		metricsLines: strings.Count(m.String(), "\n"),
		metricsBytes: m.Len(),
	}
}

// counterWatch polls a router's Stats until stopped and records the first
// counter it sees go backwards: an endpoint's, by name, or a loop's, by ID.
type counterWatch struct {
	quit chan struct{}
	done chan struct{}
	mu   sync.Mutex
	bad  string
}

func watchCountersMonotonic(r *router.Router) *counterWatch {
	w := &counterWatch{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		last := map[string]uint64{}
		for {
			select {
			case <-w.quit:
				return
			case <-time.After(time.Millisecond):
			}
			for k, n := range counters(r.Stats()) {
				if n < last[k] {
					w.mu.Lock()
					w.bad = fmt.Sprintf("%s went from %d to %d", k, last[k], n)
					w.mu.Unlock()
					return
				}
				last[k] = n
			}
		}
	}()
	return w
}

func (w *counterWatch) stop(t *testing.T) {
	t.Helper()
	close(w.quit)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.bad != "" {
		t.Errorf("a counter went backwards across reloads: %s", w.bad)
	}
}

// counters flattens the counters of s (not its gauges) by series name.
func counters(s router.Stats) map[string]uint64 {
	out := map[string]uint64{}
	for _, e := range s.Endpoints {
		for k, n := range map[string]uint64{
			"opened": e.Opened, "closed": e.Closed, "errors": e.Errors,
			"bytes_in": e.BytesIn, "bytes_out": e.BytesOut, "msgs_in": e.MsgsIn,
			"msgs_out": e.MsgsOut, "offered": e.Offered,
		} {
			out[e.Name+"/"+k] = n
		}
		for k, n := range e.Drops {
			out[e.Name+"/drop/"+k] = n
		}
		for k, n := range e.Refused {
			out[e.Name+"/refused/"+k] = n
		}
	}
	for _, l := range s.Loops {
		out[fmt.Sprintf("loop%d/completions", l.ID)] = l.Completions
		out[fmt.Sprintf("loop%d/mail", l.ID)] = l.Mail
		out[fmt.Sprintf("loop%d/wakeups", l.ID)] = l.Wakeups
	}
	for op, n := range s.Ops {
		out["op/"+op] = n
	}
	return out
}
