package tests

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// Issue 16 defect 5 (b): a fan-out subscriber or relay member that
// half-closed was closed at once, and its last line usually arrived cut
// (116/150 io_uring, 146/150 epoll). One that hangs up now leaves: it takes
// no new messages, what was queued for it goes out whole, then it is
// closed — every line it gets is whole and counted delivered.
// (ignore_eof keeps it listening instead.)
func TestHalfClosedMemberGetsWholeMessagesThenLeaves(t *testing.T) {
	cases := []struct {
		name, yaml string
		member     string // the endpoint the half-closing client joins
		sender     string // the endpoint a publisher writes to
	}{
		{"fanout-subscriber", `
endpoints:
  pub: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: subs}
`, "subs", "pub"},
		{"relay-member", `
endpoints:
  room: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: room}
`, "room", "room"},
	}
	for _, v := range variants() {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				for trial := range 10 {
					halfCloseUnderTraffic(t, v, tc.yaml, tc.member, tc.sender, trial)
				}
			})
		}
	}
}

func halfCloseUnderTraffic(t *testing.T, v variant, yaml, member, sender string, trial int) {
	r := start(t, v, yaml)
	defer r.StopWithin(time.Second)
	m := dial(t, r.Addr(member))
	waitFor(t, "the member", func() bool { return endpoint(r.Stats(), member).Active == 1 })
	p := dial(t, r.Addr(sender))
	defer p.Close()
	go func() {
		w := bufio.NewWriter(p)
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "line %d %s\n", i, strings.Repeat("p", 50)); err != nil {
				return
			}
		}
	}()
	// Half-close once lines flow; read on only once the socket has filled
	// (the router's writes then stop part-way through a line), to the end.
	rd := bufio.NewReader(m)
	m.SetReadDeadline(time.Now().Add(ioTimeout))
	if _, err := rd.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	m.CloseWrite()
	time.Sleep(20 * time.Millisecond)
	rest, err := io.ReadAll(rd)
	if err != nil {
		t.Fatalf("trial %d: %v", trial, err)
	}
	whole := 1 + strings.Count(string(rest), "\n")
	if len(rest) > 0 && rest[len(rest)-1] != '\n' {
		t.Fatalf("trial %d: the last line arrived cut: %q", trial, rest[max(0, len(rest)-40):])
	}
	left := uint64(0) // in a relay, the publisher stays
	if member == sender {
		left = 1
	}
	waitFor(t, "the member gone", func() bool { return endpoint(r.Stats(), member).Active == left })
	s := endpoint(r.Stats(), member)
	if int(s.MsgsOut) != whole || reconcile(r.Stats(), member) != nil {
		t.Fatalf("trial %d: the member read %d whole lines; counted delivered %d, dropped %v", trial, whole, s.MsgsOut, s.Drops)
	}
}

// Issue 16 defect 5 (a): a connection closed while a write to it was under
// way had that write's messages counted as dropped (disconnect), though the
// write went on and the peer got them. A subscriber over its mark under
// overflow: disconnect reads everything the router wrote: every whole line
// it got is counted delivered, every other one dropped.
func TestClosedWithAWriteUnderWayCountsWhatItWrote(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			for trial := range 10 {
				r := start(t, v, `
endpoints:
  pub: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines, overflow: disconnect, high_water: 64KiB}
routes:
  - {pattern: fanout, from: pub, to: subs}
`)
				sub := dial(t, r.Addr("subs"))
				sub.SetReadBuffer(64 << 10)
				waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "subs").Active == 1 })
				p := dial(t, r.Addr("pub"))
				go func() {
					w := bufio.NewWriter(p)
					for i := range 200000 {
						if _, err := fmt.Fprintf(w, "line %d %s\n", i, strings.Repeat("p", 50)); err != nil {
							return
						}
					}
					w.Flush()
				}()
				// Read slowly, so that writes complete bit by bit while
				// the queue grows to its mark; once the router has let
				// go, read what it wrote to the end.
				var data []byte
				buf := make([]byte, 4096)
				sub.SetReadDeadline(time.Now().Add(ioTimeout))
				for endpoint(r.Stats(), "subs").Active == 1 {
					n, err := sub.Read(buf)
					data = append(data, buf[:n]...)
					if err != nil {
						break
					}
					time.Sleep(50 * time.Microsecond)
				}
				rest, err := io.ReadAll(sub)
				if err != nil && !isReset(err) {
					t.Fatal(err)
				}
				data = append(data, rest...)
				whole := strings.Count(string(data), "\n")
				waitFor(t, "the subscriber closed", func() bool { return endpoint(r.Stats(), "subs").Active == 0 })
				s := endpoint(r.Stats(), "subs")
				if s.MsgsOut != uint64(whole) || reconcile(r.Stats(), "subs") != nil {
					t.Fatalf("trial %d: the subscriber read %d whole lines; counted delivered %d, dropped %v", trial, whole, s.MsgsOut, s.Drops)
				}
				r.StopWithin(time.Second)
			}
		})
	}
}
