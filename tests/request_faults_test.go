package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// worker is a Go request worker connected to a router's worker listener:
// it reads requests one per line and, unless silent, answers each with
// its upper case after delay. got counts the requests it has read.
type worker struct {
	conn *net.TCPConn
	got  atomic.Int64
	eof  chan struct{} // closed when the router closes it
}

func newWorker(t *testing.T, addr string, silent bool, delay time.Duration) *worker {
	t.Helper()
	w := &worker{conn: dial(t, addr), eof: make(chan struct{})}
	w.conn.SetDeadline(time.Time{}) // lives as long as the test
	go func() {
		defer close(w.eof)
		r := bufio.NewReader(w.conn)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			w.got.Add(1)
			if silent {
				continue
			}
			time.Sleep(delay)
			if _, err := io.WriteString(w.conn, strings.ToUpper(line)); err != nil {
				return
			}
		}
	}()
	return w
}

// workersJoined waits until n connections of endpoint name are open.
func workersJoined(t *testing.T, r *router.Router, name string, n uint64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d %s connected", n, name), func() bool { return endpoint(r.Stats(), name).Active == n })
}

// replyFigures are the request/reply counters of endpoint name.
func replyFigures(s router.Stats, name string) (timeouts, unanswered uint64) {
	for _, e := range s.Endpoints {
		if e.Name == name {
			return e.ReplyTimeouts, e.Unanswered
		}
	}
	return 0, 0
}

// A client that has finished sending still awaits its answers: its
// half-close must not cost it the replies to what it asked.
func TestRequestHalfClosedClientGetsItsReplies(t *testing.T) {
	upcase := `while IFS= read -r l; do sleep 0.05; printf "%s\n" "$l" | tr a-z A-Z; done`
	cases := []struct {
		name     string
		workers  string // the worker endpoint's YAML
		goWorker bool
	}{
		{"exec-worker", fmt.Sprintf("{kind: exec, command: [sh, -c, '%s'], framing: lines}", upcase), false},
		{"tcp-worker-answering-late", `{kind: tcp, listen: "127.0.0.1:0", framing: lines}`, true},
	}
	for _, tc := range cases {
		for _, v := range variants() {
			t.Run(tc.name+"/"+v.String(), func(t *testing.T) {
				r := start(t, v, fmt.Sprintf(`
endpoints:
  clients: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  workers: %s
routes:
  - {pattern: request, from: clients, to: workers}
`, tc.workers))
				if tc.goWorker {
					newWorker(t, r.Addr("workers"), false, 50*time.Millisecond)
				}
				workersJoined(t, r, "workers", 1)
				c := dial(t, r.Addr("clients"))
				io.WriteString(c, "hello\nworld\n")
				c.CloseWrite()
				got, err := io.ReadAll(c)
				if err != nil || string(got) != "HELLO\nWORLD\n" {
					s := endpoint(r.Stats(), "workers")
					t.Fatalf("got %q (%v) after half-closing; want both replies then EOF (worker drops %v)", got, err, s.Drops)
				}
				waitFor(t, "the client's connection closed", func() bool { return endpoint(r.Stats(), "clients").Active == 0 })
			})
		}
	}
}

// A worker that reads and never answers is closed once a request has
// waited reply_timeout: its requests are counted as unanswered, the
// requester's wait ends, and the other workers carry on.
func TestRequestReplyTimeoutClosesASilentWorker(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, `
endpoints:
  clients: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  workers: {kind: tcp, listen: "127.0.0.1:0", framing: lines, reply_timeout: 200ms}
routes:
  - {pattern: request, from: clients, to: workers}
`)
			silent := newWorker(t, r.Addr("workers"), true, 0)
			workersJoined(t, r, "workers", 1)
			c := dial(t, r.Addr("clients"))
			io.WriteString(c, "a\nb\nc\n")
			waitFor(t, "the silent worker holding 3 requests", func() bool { return silent.got.Load() == 3 })
			c.CloseWrite()
			// Nothing comes back; once the timeout fails the requests the
			// half-closed client has nothing to wait for and is closed.
			if got, err := io.ReadAll(c); err != nil || len(got) != 0 {
				t.Fatalf("client got %q, %v: want EOF and no reply", got, err)
			}
			select {
			case <-silent.eof:
			case <-timeoutC():
				t.Fatal("the silent worker was not closed")
			}
			waitFor(t, "the timeout counted", func() bool {
				to, un := replyFigures(r.Stats(), "workers")
				return to == 1 && un == 3
			})
			// The service goes on with a worker that answers.
			newWorker(t, r.Addr("workers"), false, 0)
			workersJoined(t, r, "workers", 1)
			c2 := dial(t, r.Addr("clients"))
			io.WriteString(c2, "d\n")
			if got := readLines(t, bufio.NewReader(c2), 1); got[0] != "D" {
				t.Fatalf("reply %q, want D", got[0])
			}
			if to, un := replyFigures(r.Stats(), "workers"); to != 1 || un != 3 {
				t.Fatalf("reply timeouts %d, unanswered %d: want 1 and 3", to, un)
			}
		})
	}
}

// With max_outstanding a silent worker takes at most its share of N
// requests; the rest go to a worker that answers, and nothing is dropped.
func TestRequestMaxOutstandingBoundsASilentWorker(t *testing.T) {
	const maxOut, requests = 4, 500
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(`
endpoints:
  clients: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  workers: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_outstanding: %d}
routes:
  - {pattern: request, from: clients, to: workers}
`, maxOut))
			silent := newWorker(t, r.Addr("workers"), true, 0)
			workersJoined(t, r, "workers", 1)
			newWorker(t, r.Addr("workers"), false, 0)
			workersJoined(t, r, "workers", 2)
			c := dial(t, r.Addr("clients"))
			var b strings.Builder
			for i := range requests {
				fmt.Fprintf(&b, "r%d\n", i)
			}
			go io.WriteString(c, b.String())
			br := bufio.NewReader(c)
			got := readLines(t, br, requests-maxOut)
			if !strings.HasPrefix(got[0], "R") {
				t.Fatalf("first reply %q", got[0])
			}
			if n := silent.got.Load(); n != maxOut {
				t.Fatalf("the silent worker took %d requests, want %d (max_outstanding)", n, maxOut)
			}
			w := endpoint(r.Stats(), "workers")
			if w.Offered != requests || w.Drops["hwm"]+w.Drops["disconnect"]+w.Drops["no_route"] != 0 {
				t.Fatalf("workers offered %d (want %d), drops %v", w.Offered, requests, w.Drops)
			}
			// Its requests are counted when it goes.
			silent.conn.Close()
			waitFor(t, "the silent worker's requests counted", func() bool {
				_, un := replyFigures(r.Stats(), "workers")
				return un == maxOut
			})
		})
	}
}

// A worker that stops reading hoards what the kernel buffers for it,
// unseen by the marks; sndbuf bounds that.
func TestRequestSndbufBoundsWhatAStuckWorkerHoards(t *testing.T) {
	const jobs = 20000
	cases := []struct {
		name    string
		sndbuf  string
		atMost  int64 // jobs the stuck worker may take
		atLeast int64
	}{
		// 10-byte jobs: the kernel's default buffers hide thousands. With
		// sndbuf 4KiB (the kernel doubles it) and the worker's 4KiB
		// receive buffer, at most about 17KiB: 1,700 jobs.
		{"kernel-default-buffers-hide-thousands", "", jobs, 4000},
		{"sndbuf-4KiB-hides-hundreds", "sndbuf: 4KiB,", 2000, 0},
	}
	for _, tc := range cases {
		for _, v := range variants() {
			t.Run(tc.name+"/"+v.String(), func(t *testing.T) {
				r := start(t, v, fmt.Sprintf(`
endpoints:
  jobs:    {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  workers: {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: 1KiB, %s}
routes:
  - {pattern: balance, from: jobs, to: workers, pick: least-loaded}
`, tc.sndbuf))
				// The stuck worker's own receive buffer is small, so what
				// it hoards is the router's side.
				d := net.Dialer{Timeout: ioTimeout, Control: func(_, _ string, rc syscall.RawConn) error {
					return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
				}}
				sc, err := d.Dial("tcp", r.Addr("workers"))
				if err != nil {
					t.Fatal(err)
				}
				defer sc.Close()
				workersJoined(t, r, "workers", 1)
				good := newWorker(t, r.Addr("workers"), true, 0) // reads every job
				workersJoined(t, r, "workers", 2)
				p := dial(t, r.Addr("jobs"))
				var b strings.Builder
				for i := range jobs {
					fmt.Fprintf(&b, "job%06d\n", i)
				}
				go io.WriteString(p, b.String())
				offered := func() uint64 { return endpoint(r.Stats(), "workers").Offered }
				waitProgress(t, "every job given out", offered, func() bool { return offered() == jobs })
				// Now the stuck worker reads what it took.
				var stuck int64
				go func() {
					br := bufio.NewReader(sc)
					for {
						if _, err := br.ReadString('\n'); err != nil {
							return
						}
						atomic.AddInt64(&stuck, 1)
					}
				}()
				read := func() uint64 { return uint64(good.got.Load() + atomic.LoadInt64(&stuck)) }
				waitProgress(t, "every job read", read, func() bool { return read() == jobs })
				took := atomic.LoadInt64(&stuck)
				t.Logf("the stuck worker took %d of %d jobs", took, jobs)
				if took > tc.atMost || took < tc.atLeast {
					t.Fatalf("the stuck worker took %d jobs, want %d to %d", took, tc.atLeast, tc.atMost)
				}
			})
		}
	}
}
