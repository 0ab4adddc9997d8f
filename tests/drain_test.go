package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// burstLines is how many numbered lines queueBurst publishes: ~14 MB, more
// than loopback socket buffers hold.
const burstLines = 200000

// queueBurst starts a fanout to one subscriber that does not read yet,
// publishes burstLines numbered lines, and waits until most of them are
// queued in the router.
func queueBurst(t *testing.T, v variant) (*router.Router, net.Conn) {
	t.Helper()
	r := start(t, v, `
endpoints:
  pub: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  sub: {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: 64MiB}
routes:
  - {pattern: fanout, from: pub, to: sub}
`)
	sub := dial(t, r.Addr("sub"))
	// A small receive buffer keeps most of the burst queued in the router.
	// Not below 64KiB: a window under loopback's 32KiB MSS makes TCP trickle
	// (silly-window avoidance), and the reads would time out.
	sub.SetReadBuffer(64 << 10)
	waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "sub").Active == 1 })
	var b strings.Builder
	for n := range burstLines {
		fmt.Fprintf(&b, "seq %06d %s\n", n, strings.Repeat("d", 60))
	}
	io.WriteString(dial(t, r.Addr("pub")), b.String())
	waitFor(t, "burst queued", func() bool {
		s := endpoint(r.Stats(), "sub")
		return s.MsgsOut+uint64(s.Queued) == burstLines && s.Queued > 0
	})
	return r, sub
}

// Stop stops reading at once but gives queued output to a live sink until
// the drain deadline: a subscriber that reads only after Stop began still
// gets every message that was queued for it, in order.
func TestStopDrainsQueuedOutput(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r, sub := queueBurst(t, v)
			stopped := make(chan error, 1)
			go func() { stopped <- r.StopWithin(ioTimeout) }()
			time.Sleep(20 * time.Millisecond) // Stop is under way before we read
			rd := bufio.NewReader(sub)
			for n, l := range readLines(t, rd, burstLines) {
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
			if s := endpoint(r.Stats(), "sub"); s.MsgsOut != burstLines || s.Drops["shutdown"] != 0 {
				t.Fatalf("delivered %d, shutdown drops %d", s.MsgsOut, s.Drops["shutdown"])
			}
		})
	}
}

// Past the drain deadline, what is still queued is dropped and counted.
func TestStopCountsWhatTheDeadlineCutsOff(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r, _ := queueBurst(t, v)
			if err := r.StopWithin(50 * time.Millisecond); err != nil { // nobody reads: the deadline passes
				t.Fatal(err)
			}
			s := endpoint(r.Stats(), "sub")
			if s.Drops["shutdown"] == 0 || s.MsgsOut+s.Drops["shutdown"] != burstLines || s.Queued != 0 {
				t.Fatalf("delivered %d + shutdown drops %d != %d (queued %d)", s.MsgsOut, s.Drops["shutdown"], burstLines, s.Queued)
			}
		})
	}
}
