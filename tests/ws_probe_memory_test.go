package tests

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"
)

// Issue 22, what a hostile client can make a WebSocket connection hold:
// a message in the smallest fragments, many messages left half-sent,
// and pings whose pongs it never reads.

const wsRoomYAML = `
endpoints:
  room: {kind: tcp, listen: "127.0.0.1:0", framing: websocket, max_frame: %d}
routes:
  - {pattern: relay, members: [room]}
`

// TestWebSocketProbeOneByteFragments: a message of exactly max_frame sent
// in 1-byte fragments arrives whole as one frame; one byte more in the
// next such message is refused (1009) at the fragment that passes the
// limit.
func TestWebSocketProbeOneByteFragments(t *testing.T) {
	const max = 16 << 10
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(wsRoomYAML, max))
			a, b := wsDial(t, r.Addr("room"), "/"), wsDial(t, r.Addr("room"), "/")
			waitFor(t, "room", func() bool { return endpoint(r.Stats(), "room").Active == 2 })
			want := bytes.Repeat([]byte("0123456789abcdef"), max/16)
			fragments := func(n int) []byte {
				var wire []byte
				for i := range n {
					op := byte(0)
					if i == 0 {
						op = 2
					}
					if i == n-1 {
						op |= 0x80
					}
					wire = append(wire, op, 0x81, 0, 0, 0, 0, want[i%len(want)])
				}
				return wire
			}
			go a.c.Write(fragments(max))
			f := b.read(t)
			if f.op != 2 || !f.fin || !bytes.Equal(f.p, want) {
				t.Fatalf("got op %d fin %v, %d bytes, want the %d bytes in one binary frame", f.op, f.fin, len(f.p), len(want))
			}
			go a.c.Write(fragments(max + 1))
			if code := a.closeCode(t); code != 1009 {
				t.Fatalf("close %d, want 1009", code)
			}
			a.ended(t)
			waitFor(t, "counted", func() bool { return wsCount(r, "room", "close_sent_1009") == 1 })
		})
	}
}

// TestWebSocketProbeHalfSentMessages: many clients each leave a message
// of nearly max_frame unfinished: the router's heap grows by about what
// they sent, max_frame each at most (no second copy, no growth past it),
// and it is given back when they leave.
func TestWebSocketProbeHalfSentMessages(t *testing.T) {
	const max, clients, fragment = 256 << 10, 32, 16 << 10
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(wsRoomYAML, max))
			heap := func() uint64 { // live bytes
				runtime.GC()
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				return m.HeapAlloc
			}
			var ws []*wsClient
			for range clients {
				ws = append(ws, wsDial(t, r.Addr("room"), "/"))
			}
			waitFor(t, "clients", func() bool { return endpoint(r.Stats(), "room").Active == clients })
			base := heap()
			part := bytes.Repeat([]byte{'h'}, fragment)
			var sent uint64
			for _, w := range ws {
				for i := range max/fragment - 1 {
					op := byte(0)
					if i == 0 {
						op = 2
					}
					w.frame(t, false, op, part, false)
				}
				sent += max - fragment
			}
			// What was sent is all read once the last client's ping is
			// answered after it (each connection reads in order).
			for _, w := range ws {
				w.frame(t, true, 9, []byte("p"), false)
				if f := w.read(t); f.op != 10 {
					t.Fatalf("want a pong, got op %d", f.op)
				}
			}
			held := int64(heap()) - int64(base)
			t.Logf("%d clients, %d bytes unfinished: heap grew %d bytes", clients, sent, held)
			// max_frame each, and 4 MiB for the loops' pooled buffers.
			if limit := int64(clients*max + 4<<20); held > limit {
				t.Errorf("heap grew %d bytes for %d unfinished, over %d", held, sent, limit)
			}
			for _, w := range ws {
				w.c.Close()
			}
			waitFor(t, "clients gone", func() bool { return endpoint(r.Stats(), "room").Active == 0 })
			// Each session let go with its slot: what stays is the
			// loops' pooled buffers, not a message per client.
			if after := int64(heap()) - int64(base); after > clients*max/2 {
				t.Errorf("heap still %d bytes over its baseline after the clients left", after)
			}
		})
	}
}

// TestWebSocketProbePingFlood: a client that pings without pause and
// never reads the pongs is closed once its unwritten control output
// passes max_frame, counted in errors; another client is unaffected.
func TestWebSocketProbePingFlood(t *testing.T) {
	const max = 16 << 10
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(wsRoomYAML, max))
			good := wsDial(t, r.Addr("room"), "/")
			c := dialSmallWindow(t, r.Addr("room"))
			flood, rep := wsUpgrade(t, c, "/")
			if rep.status != 101 {
				t.Fatalf("status %d", rep.status)
			}
			ping := bytes.Repeat(masked(9, string(bytes.Repeat([]byte{'p'}, 125))), 64)
			done := make(chan error, 1)
			go func() {
				c.SetWriteDeadline(time.Now().Add(4 * ioTimeout))
				for {
					if _, err := flood.c.Write(ping); err != nil {
						done <- err
						return
					}
				}
			}()
			select {
			case err := <-done:
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("the flood was never closed: %v", err)
				}
			case <-time.After(5 * ioTimeout):
				t.Fatal("the flood was never closed")
			}
			waitFor(t, "counted", func() bool { return errorsOf(r.Stats(), "room") == 1 && endpoint(r.Stats(), "room").Active == 1 })
			good.send(t, 9, "ok")
			if f := good.read(t); f.op != 10 || string(f.p) != "ok" {
				t.Fatalf("the other client: op %d %q", f.op, f.p)
			}
		})
	}
}
