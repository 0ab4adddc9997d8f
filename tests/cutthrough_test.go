package tests

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// peakRSS is the process's peak resident set (VmHWM), in bytes.
func peakRSS(t *testing.T) int64 { return procStatus(t, "VmHWM") << 10 }

// A 100 MB length-prefixed frame crosses a bridge to an echo server and
// back, forwarded as it arrives: the router never holds the whole frame,
// so the process's peak RSS grows by far less than the frame.
func TestLargeFrameIsCutThrough(t *testing.T) {
	const size = 100_000_000
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: length-prefix, max_frame: 128MiB}
  back:  {kind: tcp, connect: "%s", framing: length-prefix, max_frame: 128MiB}
routes:
  - {pattern: bridge, from: front, to: back}
`, echoServer(t)))
			// Start the peak afresh: earlier tests in this process count not.
			if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
				t.Fatalf("resetting the peak RSS: %v", err)
			}
			before := peakRSS(t)
			c := dial(t, r.Addr("front"))
			go func() {
				var hdr [8]byte
				binary.LittleEndian.PutUint64(hdr[:], size)
				w := bufio.NewWriterSize(c, 64<<10)
				w.Write(hdr[:])
				block := make([]byte, 64<<10)
				for sent := 0; sent < size; {
					n := min(len(block), size-sent)
					for i := range block[:n] {
						block[i] = byte(sent + i)
					}
					w.Write(block[:n])
					sent += n
				}
				w.Flush()
			}()
			rd := bufio.NewReaderSize(c, 64<<10)
			var hdr [8]byte
			if _, err := io.ReadFull(rd, hdr[:]); err != nil || binary.LittleEndian.Uint64(hdr[:]) != size {
				t.Fatalf("header %x, %v", hdr, err)
			}
			buf := make([]byte, 64<<10)
			for got := 0; got < size; {
				n, err := rd.Read(buf[:min(len(buf), size-got)])
				for i := range buf[:n] {
					if buf[i] != byte(got+i) {
						t.Fatalf("byte %d is %d, want %d", got+i, buf[i], byte(got+i))
					}
				}
				got += n
				if err != nil {
					t.Fatalf("after %d of %d bytes: %v", got, size, err)
				}
			}
			grew := peakRSS(t) - before
			t.Logf("100 MB frame echoed through the bridge; peak RSS grew %.1f MB (from %.1f MB)", float64(grew)/1e6, float64(before)/1e6)
			if grew > size/4 {
				t.Fatalf("peak RSS grew %d bytes for a %d-byte frame: it was held, not cut through", grew, size)
			}
			waitFor(t, "the frame counted", func() bool {
				return endpoint(r.Stats(), "front").MsgsIn == 1 && endpoint(r.Stats(), "back").MsgsIn == 1 &&
					endpoint(r.Stats(), "front").MsgsOut == 1 && endpoint(r.Stats(), "back").MsgsOut == 1
			})
		})
	}
}

// Large frames cut through an echo come back whole and in order with the
// small frames around them, however the writes split headers and
// payloads; every frame is counted once, in and out, and nothing stays
// queued.
func TestCutThroughEchoKeepsFramesInOrder(t *testing.T) {
	sizes := []int{300 << 10, 5, 2<<20 + 3, 0, 8, 1 << 20, 256 << 10, 17, 3<<20 + 1, 64 << 10, 700 << 10}
	var stream []byte
	for i, n := range sizes {
		p := make([]byte, n)
		for j := range p {
			p[j] = byte(i*31 + j)
		}
		stream = append(stream, frame(p)...)
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, `
endpoints:
  e: {kind: tcp, listen: "127.0.0.1:0", framing: length-prefix, max_frame: 8MiB, high_water: 512KiB}
routes:
  - {pattern: echo, members: e}
`)
			c := dial(t, r.Addr("e"))
			go func() {
				// Odd write sizes: a frame's end and the next header share
				// writes, and headers split across them.
				for rest, k := stream, 0; len(rest) > 0; k++ {
					n := min(len(rest), []int{3, 70001, 9, 1 << 20, 123457}[k%5])
					if _, err := c.Write(rest[:n]); err != nil {
						return
					}
					rest = rest[n:]
				}
			}()
			rd := bufio.NewReaderSize(c, 64<<10)
			for i, n := range sizes {
				got := readFrame(t, rd)
				if len(got) != n {
					t.Fatalf("frame %d: %d bytes, want %d", i, len(got), n)
				}
				for j := range got {
					if got[j] != byte(i*31+j) {
						t.Fatalf("frame %d byte %d is %d, want %d", i, j, got[j], byte(i*31+j))
					}
				}
			}
			waitFor(t, "every frame counted", func() bool {
				e := endpoint(r.Stats(), "e")
				return e.MsgsIn == uint64(len(sizes)) && e.MsgsOut == uint64(len(sizes)) && e.Offered == uint64(len(sizes))
			})
			if e := endpointStats(r.Stats(), "e"); e.QueuedB != 0 || e.QueuedMsgs != 0 || sumDrops(e.Drops) != 0 {
				t.Fatalf("after the echo: %d bytes, %d messages queued, drops %v", e.QueuedB, e.QueuedMsgs, e.Drops)
			}
		})
	}
}

// A large frame cut off in the middle (its sender hangs up, or its
// target does) is counted once as dropped, where it came from; no bytes
// stay counted as queued, and the router goes on serving.
func TestCutThroughFrameCutOffIsCounted(t *testing.T) {
	const size = 32 << 20 // far more than the socket buffers between router and upstream hold
	const bridge = `
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: length-prefix, max_frame: 64MiB}
  back:  {kind: tcp, connect: "%s", framing: length-prefix, max_frame: 64MiB}
routes:
  - {pattern: bridge, from: front, to: back}
`
	cases := []struct {
		name, yaml string
		from       string // the endpoint the frame arrives on and is counted by
		hangUp     string // who hangs up mid-frame: "sender" or "target"
	}{
		{"echo/sender-hangs-up", `
endpoints:
  e: {kind: tcp, listen: "127.0.0.1:0", framing: length-prefix, max_frame: 64MiB}
routes:
  - {pattern: echo, members: e}
`, "e", "sender"},
		{"bridge/sender-hangs-up", bridge, "front", "sender"},
		{"bridge/target-hangs-up", bridge, "front", "target"},
	}
	for _, v := range variants() {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				// The bridge's upstream reads what it is sent; told to, it
				// hangs up after the first megabyte.
				up, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { up.Close() })
				go func() {
					for {
						c, err := up.Accept()
						if err != nil {
							return
						}
						go func() {
							if tc.hangUp == "target" {
								io.CopyN(io.Discard, c, 1<<20)
								c.(*net.TCPConn).SetLinger(0)
								c.Close()
								return
							}
							io.Copy(io.Discard, c)
							c.Close() // as a server does at its client's EOF
						}()
					}
				}()
				yaml := tc.yaml
				if strings.Contains(yaml, "%s") {
					yaml = fmt.Sprintf(yaml, up.Addr())
				}
				r := start(t, v, yaml)
				c := dial(t, r.Addr(tc.from))
				go io.Copy(io.Discard, c) // the echo comes back
				var hdr [8]byte
				binary.LittleEndian.PutUint64(hdr[:], size)
				c.Write(hdr[:])
				half := make([]byte, size/2)
				if tc.hangUp == "sender" {
					c.Write(half)
					c.Close()
				} else {
					go func() {
						c.Write(half)
						c.Write(half) // fails once the router closes c
					}()
				}
				waitFor(t, "the cut-off frame counted", func() bool {
					e := endpoint(r.Stats(), tc.from)
					return e.MsgsIn == 1 && e.Lost["disconnect"] == 1 && e.Active == 0
				})
				for _, s := range r.Stats().Endpoints {
					if s.QueuedB != 0 || s.QueuedMsgs != 0 {
						t.Fatalf("%s: %d bytes, %d messages still counted as queued", s.Name, s.QueuedB, s.QueuedMsgs)
					}
					if s.Name != tc.from && sumDrops(s.Drops) != 0 {
						t.Fatalf("%s counts drops %v: the frame was %s's", s.Name, s.Drops, tc.from)
					}
				}
				// The router still serves: a small frame makes it through.
				c2 := dial(t, r.Addr(tc.from))
				c2.Write(frame([]byte("next")))
				if tc.name == "echo/sender-hangs-up" {
					if got := string(readFrame(t, c2)); got != "next" {
						t.Fatalf("echo gave %q", got)
					}
				} else {
					waitFor(t, "the next frame offered upstream", func() bool { return endpoint(r.Stats(), "back").Offered >= 1 })
				}
			})
		}
	}
}

// endpointStats is the whole of endpoint name's figures.
func endpointStats(s router.Stats, name string) router.EndpointStats {
	for _, e := range s.Endpoints {
		if e.Name == name {
			return e
		}
	}
	return router.EndpointStats{}
}

func sumDrops(d map[string]uint64) (n uint64) {
	for _, v := range d {
		n += v
	}
	return n
}
