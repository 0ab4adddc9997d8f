package tests

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// Stop stops reading at once but gives queued output to a live sink until
// the drain deadline: a subscriber that reads only after Stop began still
// gets every message that was queued for it, in order.
func TestStopDrainsQueuedOutput(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, `
endpoints:
  pub: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  sub: {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: 64MiB}
routes:
  - {pattern: fanout, from: pub, to: sub}
`)
			sub := dial(t, r.Addr("sub"))
			// A small receive buffer keeps most of the burst queued in the
			// router. Not below 64KiB: a window under loopback's 32KiB MSS
			// makes TCP trickle (silly-window avoidance), which would time out.
			sub.SetReadBuffer(64 << 10)
			waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "sub").Active == 1 })
			const lines = 200000 // ~14 MB: more than loopback socket buffers hold
			pub := dial(t, r.Addr("pub"))
			var b strings.Builder
			for n := range lines {
				fmt.Fprintf(&b, "seq %06d %s\n", n, strings.Repeat("d", 60))
			}
			io.WriteString(pub, b.String())
			waitFor(t, "burst queued", func() bool {
				s := endpoint(r.Stats(), "sub")
				return s.MsgsOut+uint64(s.Queued) == lines && s.Queued > 0
			})
			stopped := make(chan error, 1)
			go func() { stopped <- r.StopWithin(ioTimeout) }()
			time.Sleep(20 * time.Millisecond) // Stop is under way before we read
			rd := bufio.NewReader(sub)
			for n, l := range readLines(t, rd, lines) {
				if !strings.HasPrefix(l, fmt.Sprintf("seq %06d ", n)) {
					t.Fatalf("line %d is %q", n, l[:12])
				}
			}
			if _, err := rd.ReadString('\n'); err != io.EOF {
				t.Fatalf("after the drain: %v, want EOF", err)
			}
			if err := <-stopped; err != nil {
				t.Fatal(err)
			}
			if s := endpoint(r.Stats(), "sub"); s.MsgsOut != lines || s.Drops["shutdown"] != 0 {
				t.Fatalf("delivered %d, shutdown drops %d", s.MsgsOut, s.Drops["shutdown"])
			}
		})
	}
}

// Past the drain deadline, what is still queued is dropped and counted.
func TestStopCountsWhatTheDeadlineCutsOff(t *testing.T) {
	v := variants()[0]
	r := start(t, v, `
endpoints:
  pub: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  sub: {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: 64MiB}
routes:
  - {pattern: fanout, from: pub, to: sub}
`)
	sub := dial(t, r.Addr("sub"))
	sub.SetReadBuffer(64 << 10)
	waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "sub").Active == 1 })
	const lines = 200000 // ~14 MB: more than loopback socket buffers hold
	pub := dial(t, r.Addr("pub"))
	io.WriteString(pub, strings.Repeat(strings.Repeat("q", 60)+"\n", lines))
	waitFor(t, "burst queued", func() bool {
		s := endpoint(r.Stats(), "sub")
		return s.MsgsOut+uint64(s.Queued) == lines && s.Queued > 0
	})
	if err := r.StopWithin(50 * time.Millisecond); err != nil { // nobody reads: the deadline passes
		t.Fatal(err)
	}
	s := endpoint(r.Stats(), "sub")
	if s.Drops["shutdown"] == 0 || s.MsgsOut+s.Drops["shutdown"] != lines || s.Queued != 0 {
		t.Fatalf("delivered %d + shutdown drops %d != %d (queued %d)", s.MsgsOut, s.Drops["shutdown"], lines, s.Queued)
	}
}
