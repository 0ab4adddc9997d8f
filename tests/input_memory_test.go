package tests

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints"
	"github.com/pxroute/pxroute/router"
)

// The framings that search for a message's end let the Machine resume the
// search (contract.Resumer): a method that drifted from the interface would
// silently bring back the search from the start on every read.
func TestSearchingFramingsResume(t *testing.T) {
	crlf2, err := endpoints.NewDelimiter([]byte("\r\n\r\n"), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []contract.Framing{endpoints.Lines, endpoints.LinesKeep, crlf2} {
		if _, ok := f.(contract.Resumer); !ok {
			t.Errorf("framing %s does not implement contract.Resumer", f.Name())
		}
	}
}

// Issue 16, item 4: a partial message is carried per connection. Many
// connections each dribbling an unfinished message just under max_frame
// must cost the router at most max_frame plus one read each while it is
// unfinished, give that back once the message completes (though the next
// one has begun), and hold nothing once they close.
func TestInputMemoryPerConnectionIsBoundedAndGivenBack(t *testing.T) {
	const (
		conns    = 100
		maxFrame = 1 << 20
		write    = 1 << 10 // small writes: the message arrives over many reads
		// perConnSlack covers what else a connection costs: the router's
		// conn and the test's client socket.
		perConnSlack = 16 << 10
		// portPool is how many receive buffers a loop's port keeps for
		// reuse: between two measurements it may hold from none to all.
		portPool = 64
		// heapNoise is what HeapInuse, a count of whole spans, moves by
		// with no leak: spans kept partly used by the test's closed
		// clients and the router's conn slots.
		heapNoise = 4 << 20
	)
	// The most the router may hold for one connection's partial input.
	perConn := maxFrame + completion.BufSize
	cases := []struct {
		name    string
		framing string
		end     string // ends the message
	}{
		{"lines", `framing: lines`, "\n"},
		{"delimiter", `framing: delimiter, delimiter: "\r\n\r\n"`, "\r\n\r\n"},
	}
	chunk := []byte(strings.Repeat("x", write))
	for _, tc := range cases {
		for _, v := range variants() {
			t.Run(tc.name+"/"+v.String(), func(t *testing.T) {
				// The messages go to a fan-out nobody has joined: dropped,
				// so that nothing queues and the input is all there is.
				r := start(t, v, fmt.Sprintf(`
endpoints:
  in:  {kind: tcp, listen: "127.0.0.1:0", %s, max_frame: 1MiB}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: in, to: out}
`, tc.framing))
				addr := r.Addr("in")
				slack := int64(v.loops*portPool*completion.BufSize + heapNoise)
				// A first wave of connections with one short message each
				// leaves the router (its conn slots, its buffer pools) and
				// the runtime as they will be after the measured wave.
				wave := func() []net.Conn {
					clients := make([]net.Conn, 0, conns)
					for range conns {
						clients = append(clients, dial(t, addr))
					}
					return clients
				}
				for _, c := range wave() {
					if _, err := io.WriteString(c, "warm"+tc.end); err != nil {
						t.Fatalf("write: %v", err)
					}
					c.Close()
				}
				waitFor(t, "the first wave gone", func() bool {
					e := endpoint(r.Stats(), "in")
					return e.Active == 0 && e.MsgsIn == conns
				})
				base := heapInuse()

				// Each sends a max_frame message all but its end, a little at a time.
				clients := wave()
				for _, c := range clients {
					// 100 MiB in 1 KiB writes: the bound is on each
					// client's progress, not on the wave since it dialled.
					c.SetWriteDeadline(time.Now().Add(ioTimeout))
					for left := maxFrame - len(tc.end); left > 0; left -= write {
						if _, err := c.Write(chunk[:min(write, left)]); err != nil {
							t.Fatalf("write: %v", err)
						}
					}
				}
				want := uint64(conns*(len("warm")+len(tc.end)) + conns*(maxFrame-len(tc.end)))
				waitFor(t, "every byte read", func() bool { return bytesIn(r.Stats(), "in") == want })
				unfinished := heapInuse()

				// Each ends its message (of max_frame bytes exactly) and
				// begins the next with one byte.
				for _, c := range clients {
					c.SetWriteDeadline(time.Now().Add(ioTimeout))
					if _, err := io.WriteString(c, tc.end+"y"); err != nil {
						t.Fatalf("write: %v", err)
					}
				}
				waitFor(t, "every message framed", func() bool { return endpoint(r.Stats(), "in").MsgsIn == 2*conns })
				begun := heapInuse()

				for _, c := range clients {
					c.Close()
				}
				waitFor(t, "every connection closed", func() bool { return endpoint(r.Stats(), "in").Active == 0 })
				closed := heapInuse()
				if e := endpoint(r.Stats(), "in"); e.Drops["max_frame"] != 0 {
					t.Errorf("%d connections closed for max_frame: a message of max_frame bytes is allowed", e.Drops["max_frame"])
				}

				// What the conns held is measured against the heap once they
				// are gone: the port's buffer pool is in both.
				t.Logf("%d connections, heap in use over what it is once they close: %d bytes (%.3f MiB each) with %d bytes of a message each, %d bytes with 1 byte of the next; once closed, %d bytes over the start",
					conns, unfinished-closed, float64(unfinished-closed)/conns/(1<<20), maxFrame-len(tc.end), begun-closed, closed-base)
				if held := unfinished - closed; held > int64(conns*(perConn+perConnSlack))+slack {
					t.Errorf("%d connections with unfinished messages hold %d bytes: over %d (max_frame + one read, %d, + %d each, + %d for the ports' buffer pools and the heap's noise)",
						conns, held, int64(conns*(perConn+perConnSlack))+slack, perConn, perConnSlack, slack)
				}
				if held := begun - closed; held > int64(conns*perConnSlack)+slack {
					t.Errorf("%d connections whose large message completed, each with 1 byte of the next, hold %d bytes: over %d (%d each + %d for the ports' buffer pools and the heap's noise)",
						conns, held, int64(conns*perConnSlack)+slack, perConnSlack, slack)
				}
				if held := closed - base; held > slack {
					t.Errorf("heap in use %d bytes over the start after %d connections closed: over %d (the ports' buffer pools and the heap's noise)", held, conns, slack)
				}
			})
		}
	}
}

// heapInuse is the Go heap in use after a collection: what is live.
func heapInuse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// bytesIn is what endpoint name has read from its connections.
func bytesIn(s router.Stats, name string) uint64 {
	for _, e := range s.Endpoints {
		if e.Name == name {
			return e.BytesIn
		}
	}
	return 0
}

// BenchmarkLineDribble echoes one max_frame (1 MiB) line, written in one
// write or dribbled in 1 KiB writes; "paced" waits for the router to read
// each write before the next, so that the line arrives in 1,024 reads, as
// from a slow sender. Finding the line's end must cost the same however it
// arrives: a carried line is not searched again from its start on every
// read.
func BenchmarkLineDribble(b *testing.B) {
	const line = 1 << 20
	msg := []byte(strings.Repeat("x", line-1) + "\n")
	cases := []struct {
		name  string
		write int
		paced bool
	}{
		{"one-write", line, false},
		{"1KiB-writes", 1 << 10, false},
		{"1KiB-writes-paced", 1 << 10, true},
	}
	for _, v := range []variant{{"epoll", 1}, {"io_uring", 1}} {
		for _, tc := range cases {
			b.Run(v.String()+"/"+tc.name, func(b *testing.B) {
				if err := router.EngineUnavailable(v.engine); err != nil {
					b.Fatalf("%s: %v", v.engine, err)
				}
				r, err := router.LoadBytes("bench.yaml", []byte(`
endpoints:
  echo: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_frame: 1MiB}
routes:
  - {pattern: echo, members: echo}
`), router.Options{Loops: v.loops, Engine: v.engine, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					b.Fatal(err)
				}
				if err := r.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				defer r.Stop()
				c, err := net.Dial("tcp", r.Addr("echo"))
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				rd := bufio.NewReaderSize(c, 64<<10)
				got := make([]byte, line)
				b.SetBytes(line)
				recvs, read := r.Stats().Ops["recv"], bytesIn(r.Stats(), "echo")
				b.ResetTimer()
				for range b.N {
					for off := 0; off < line; off += tc.write {
						n, err := c.Write(msg[off:min(off+tc.write, line)])
						if err != nil {
							b.Fatal(err)
						}
						read += uint64(n)
						for tc.paced && bytesIn(r.Stats(), "echo") < read {
							runtime.Gosched()
						}
					}
					if _, err := io.ReadFull(rd, got); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				// How many reads a line took: the more, the more a search
				// from the start would cost.
				b.ReportMetric(float64(r.Stats().Ops["recv"]-recvs)/float64(b.N), "recvs/op")
			})
		}
	}
}
