package tests

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"testing"
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
