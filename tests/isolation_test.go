package tests

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// A peer that misbehaves loses its own connection; the others notice nothing.
func TestMisbehavingPeerLosesOnlyItsConnection(t *testing.T) {
	cases := []struct {
		name    string
		framing string
		abuse   func(w io.Writer) // what the bad peer sends before vanishing or being closed
		drop    string            // the drop reason counted, "" for none
		closed  bool              // the router closes the bad peer
	}{
		{"line-over-max_frame", "lines", func(w io.Writer) { io.WriteString(w, strings.Repeat("z", 2048)+"\n") }, "max_frame", true},
		{"endless-line-without-newline", "lines", func(w io.Writer) { io.WriteString(w, strings.Repeat("z", 4096)) }, "max_frame", true},
		{"huge-length-prefix", "length-prefix", func(w io.Writer) {
			var h [8]byte
			binary.LittleEndian.PutUint64(h[:], 1<<62)
			w.Write(h[:])
		}, "max_frame", true},
		{"disconnect-mid-frame", "length-prefix", func(w io.Writer) {
			var h [8]byte
			binary.LittleEndian.PutUint64(h[:], 100)
			w.Write(h[:])
			w.Write([]byte("only part of it"))
		}, "", false},
		{"binary-garbage", "lines", func(w io.Writer) { w.Write([]byte{0, 1, 2, 0xff, 0xfe, '\r', 0, 0}) }, "", false},
	}
	for _, v := range variants() {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				r := start(t, v, fmt.Sprintf(`
endpoints:
  room: {kind: tcp, listen: "127.0.0.1:0", framing: %s, max_frame: 1KiB}
routes:
  - {pattern: relay, members: room}
`, tc.framing))
				addr := r.Addr("room")
				a, b := dial(t, addr), dial(t, addr)
				bad := dial(t, addr)
				waitFor(t, "members", func() bool { return endpoint(r.Stats(), "room").Active == 3 })
				tc.abuse(bad)
				if tc.closed {
					// The router closes it: its read sees EOF or a reset.
					bad.SetReadDeadline(time.Now().Add(ioTimeout))
					if _, err := io.ReadAll(bad); err != nil && !strings.Contains(err.Error(), "reset") {
						t.Fatalf("bad peer not closed: %v", err)
					}
				} else {
					bad.Close()
				}
				waitFor(t, "bad peer gone", func() bool { return endpoint(r.Stats(), "room").Active == 2 })
				// The good members still talk, whole messages only.
				msg, read := "still here\n", func(rd io.Reader) string { s, _ := bufio.NewReader(rd).ReadString('\n'); return s }
				if tc.framing == "length-prefix" {
					a.Write(frame([]byte("still here")))
					if got := string(readFrame(t, b)); got != "still here" {
						t.Fatalf("b got %q", got)
					}
				} else {
					io.WriteString(a, msg)
					if got := read(b); got != msg {
						t.Fatalf("b got %q", got)
					}
				}
				if tc.drop != "" {
					if n := endpoint(r.Stats(), "room").Lost[tc.drop]; n != 1 {
						t.Fatalf("%s drops = %d, want 1", tc.drop, n)
					}
				}
			})
		}
	}
}

// A subscriber that never reads loses messages past its high-water mark,
// counted; the others get everything and the publisher is never stalled.
func TestSlowSubscriberDoesNotStallOthers(t *testing.T) {
	// In both shapes one connection publishes, one never reads and one
	// reads everything; pub and subs name the endpoints they are on.
	shapes := []struct{ name, yaml, pub, subs string }{
		{"fanout", `
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: 64KiB}
routes:
  - {pattern: fanout, from: pub, to: subs}
`, "pub", "subs"},
		{"relay", `
endpoints:
  room: {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: 64KiB}
routes:
  - {pattern: relay, members: room}
`, "room", "room"},
	}
	for _, shape := range shapes {
		for _, v := range variants() {
			t.Run(shape.name+"/"+v.String(), func(t *testing.T) {
				r := start(t, v, shape.yaml)
				slow := dial(t, r.Addr(shape.subs))
				slow.SetReadBuffer(64 << 10) // it never reads; keep what the kernel absorbs small
				fast := bufio.NewReader(dial(t, r.Addr(shape.subs)))
				waitFor(t, "subscribers", func() bool { return endpoint(r.Stats(), shape.subs).Active == 2 })
				const lines = 50000 // ~5 MB: far past the slow one's socket buffers and 64KiB
				publishInSteps(t, dial(t, r.Addr(shape.pub)), fast, lines)
				// Each message, for each of the two readers, is delivered,
				// dropped or still queued for the slow one: exactly.
				waitFor(t, "accounting to reconcile", func() bool {
					s := endpoint(r.Stats(), shape.subs)
					return s.MsgsOut+s.Drops["hwm"]+uint64(s.Queued) == 2*lines
				})
				if s := endpoint(r.Stats(), shape.subs); s.Drops["hwm"] == 0 {
					t.Fatalf("want hwm drops for the slow subscriber: %+v", s)
				}
				// The publisher's loop may publish a turn after the readers'.
				waitFor(t, "the publisher's figures", func() bool { return endpoint(r.Stats(), shape.pub).MsgsIn == lines })
				slow.Close()
			})
		}
	}
}
