package tests

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

// Probe 30: the loop's spare carry buffer now also takes the first part
// of a large message. Many connections on a loop send large messages in
// pieces of random sizes, interleaved with each other, at and around
// max_frame and one read (64 KiB), in lines, delimiter, length-prefix,
// fragmented websocket and three-part zmtp messages; some
// close mid-message. Every message must reach the sink byte for byte
// (content depends on connection, message and position: a piece of
// another connection's message, or of an earlier one, shows), none twice,
// none partial, each connection's in order.

const probe30MaxFrame = 256 << 10

var probe30Sizes = []int{11, 4<<10 - 1, 4<<10 + 1, 64<<10 - 1, 64 << 10, 64<<10 + 1, 128<<10 + 3,
	probe30MaxFrame - 1, probe30MaxFrame, 200 << 10, 17}

// probe30Payload is message seq of connection conn, n bytes: a header
// naming it, then letters that depend on all three and the position.
func probe30Payload(conn, seq, n int) []byte {
	h := fmt.Sprintf("c%02d-m%04d:", conn, seq)
	p := make([]byte, n)
	copy(p, h)
	for i := len(h); i < n; i++ {
		x := uint32(i)*2654435761 ^ uint32(conn<<20|seq)*40503
		p[i] = 'a' + byte((x>>13)%26)
	}
	return p
}

type probe30Framing struct {
	name   string
	yaml   string
	wire   int // what the framing adds to a message under max_frame
	encode func(p []byte) []byte
	dial   func(t *testing.T, addr string) net.Conn
}

func TestProbe30CarryInterleaved(t *testing.T) {
	plainDial := func(t *testing.T, addr string) net.Conn {
		c := dial(t, addr)
		c.SetDeadline(time.Time{})
		return c
	}
	framings := []probe30Framing{
		{"lines", "framing: lines", 1, func(p []byte) []byte { return append(append([]byte(nil), p...), '\n') }, plainDial},
		{"delimiter", `framing: delimiter, delimiter: "\r\n\r\n"`, 0, func(p []byte) []byte {
			return append(append([]byte(nil), p...), "\r\n\r\n"...)
		}, plainDial},
		{"length-prefix-4-big", "framing: length-prefix, length_bytes: 4, length_order: big", 0, func(p []byte) []byte {
			return append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...)
		}, plainDial},
		{"websocket-fragmented", "framing: websocket, message: binary", 0, func(p []byte) []byte {
			// Three fragments (continuations), so a message's frames
			// are carried too.
			a, b := len(p)/3, 2*len(p)/3
			out := wsFrameBytes(false, 2, p[:a], false)
			out = append(out, wsFrameBytes(false, 0, p[a:b], false)...)
			return append(out, wsFrameBytes(true, 0, p[b:], false)...)
		}, func(t *testing.T, addr string) net.Conn {
			w := wsDial(t, addr, "/")
			w.c.SetDeadline(time.Time{})
			return w.c
		}},
		{"zmtp-three-parts", "framing: zmtp, socket: pull", 64, func(p []byte) []byte {
			// Three parts (LONG frames for the large ones): a multipart
			// message joins them back to back on a single-part sink.
			a, b := len(p)/3, 2*len(p)/3
			out := rawFrame(0x01, p[:a])
			out = append(out, rawFrame(0x01, p[a:b])...)
			return append(out, rawFrame(0, p[b:])...)
		}, func(t *testing.T, addr string) net.Conn {
			c := dial(t, addr)
			if _, err := c.Write(append(rawGreeting(3, 0, "NULL"), rawReady("PUSH")...)); err != nil {
				t.Fatal(err)
			}
			g := make([]byte, 64)
			if _, err := io.ReadFull(c, g); err != nil {
				t.Fatalf("greeting: %v", err)
			}
			readRawFrame(t, c) // READY
			c.SetDeadline(time.Time{})
			return c
		}},
	}
	const conns = 8
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			for _, fr := range framings {
				t.Run(fr.name, func(t *testing.T) {
					got := make(chan []byte, 1024)
					sinkAddr := serveEach(t, listenLocal(t), func(c net.Conn) {
						rd := bufio.NewReader(c)
						for {
							var hdr [8]byte
							if _, err := io.ReadFull(rd, hdr[:]); err != nil {
								return
							}
							b := make([]byte, binary.LittleEndian.Uint64(hdr[:]))
							if _, err := io.ReadFull(rd, b); err != nil {
								return
							}
							got <- b
						}
					})
					r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", max_frame: %d, %s}
  back:  {kind: tcp, connect: %q, framing: length-prefix, max_frame: %d}
routes:
  - {pattern: forward, from: front, to: back}
`, probe30MaxFrame+fr.wire, fr.yaml, sinkAddr, probe30MaxFrame))
					// lines counts its LF in max_frame (endpoints' framing_test
					// pins it), delimiter does not count its delimiter: the
					// largest payload is probe30MaxFrame either way.
					// The streams: each conn's messages in a random order
					// of sizes; every fourth conn then sends half of one
					// more and closes.
					rng := rand.New(rand.NewPCG(30, 3))
					streams := make([][]byte, conns)
					cut := make([]bool, conns)
					for k := range conns {
						for j, i := range rng.Perm(len(probe30Sizes)) {
							streams[k] = append(streams[k], fr.encode(probe30Payload(k, j, probe30Sizes[i]))...)
						}
						if k%4 == 3 {
							extra := fr.encode(probe30Payload(k, 9999, 150<<10))
							streams[k] = append(streams[k], extra[:len(extra)/2]...)
							cut[k] = true
						}
					}
					cs := make([]net.Conn, conns)
					for k := range conns {
						cs[k] = fr.dial(t, r.Addr("front"))
					}
					// One writer, round robin, random piece sizes: the
					// loop sees the conns' partial messages interleaved.
					var wg sync.WaitGroup
					wg.Add(1)
					go func() {
						defer wg.Done()
						off := make([]int, conns)
						for left := conns; left > 0; {
							left = 0
							for k := range conns {
								if off[k] == len(streams[k]) {
									continue
								}
								n := min(1+rng.IntN(48<<10), len(streams[k])-off[k])
								cs[k].SetWriteDeadline(time.Now().Add(ioTimeout))
								if _, err := cs[k].Write(streams[k][off[k] : off[k]+n]); err != nil {
									t.Errorf("conn %d write at %d: %v", k, off[k], err)
									return
								}
								if off[k] += n; off[k] == len(streams[k]) && cut[k] {
									cs[k].Close() // mid-message
								}
								left++
							}
						}
					}()
					want := conns * len(probe30Sizes)
					next := make([]int, conns)
					for n := 0; n < want; n++ {
						var b []byte
						select {
						case b = <-got:
						case <-time.After(ioTimeout):
							s := r.Stats()
							t.Fatalf("%d of %d messages after %v; next per conn %v; front %+v; back %+v", n, want, ioTimeout, next, endpoint(s, "front"), endpoint(s, "back"))
						}
						var k, j int
						if _, err := fmt.Sscanf(string(b[:min(len(b), 11)]), "c%02d-m%04d:", &k, &j); err != nil || k >= conns {
							t.Fatalf("message %d of %d bytes has no header: %q", n, len(b), b[:min(len(b), 40)])
						}
						if j != next[k] {
							t.Fatalf("conn %d: message %d where %d was next", k, j, next[k])
						}
						if w := probe30Payload(k, j, len(b)); !bytes.Equal(b, w) {
							i := 0
							for i < len(b) && b[i] == w[i] {
								i++
							}
							t.Fatalf("conn %d message %d (%d bytes): differs from byte %d", k, j, len(b), i)
						}
						next[k]++
					}
					wg.Wait()
					for k, n := range next {
						if n != len(probe30Sizes) {
							t.Errorf("conn %d: %d messages, want %d", k, n, len(probe30Sizes))
						}
					}
					for _, c := range cs {
						c.Close()
					}
					waitFor(t, "front's conns closed", func() bool { return endpoint(r.Stats(), "front").Active == 0 })
					select {
					case b := <-got:
						t.Fatalf("a message past the last whole one: %d bytes %q", len(b), b[:min(len(b), 20)])
					case <-time.After(50 * time.Millisecond):
					}
					s := r.Stats()
					if e := endpoint(s, "back"); e.MsgsOut != uint64(want) || len(nonZero(e.Drops)) > 0 {
						t.Errorf("back: %d out (want %d), drops %v", e.MsgsOut, want, nonZero(e.Drops))
					}
					if e := endpoint(s, "front"); e.MsgsIn != uint64(want) {
						t.Errorf("front: %d in, want %d (lost %v)", e.MsgsIn, want, nonZero(e.Lost))
					}
					checkAccounting(t, r, "front", "back")
				})
			}
		})
	}
}
