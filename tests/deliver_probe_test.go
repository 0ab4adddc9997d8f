package tests

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"
)

// probeLine is line i of the mixed-framings probe: 0 to 300 bytes, some
// not UTF-8 (a text WebSocket member gets those as binary frames), some
// over a 1-byte length header's 255; never a newline nor a NUL.
func probeLine(i int) []byte {
	n := []int{0, 7, 63, 120, 255, 256, 300}[i%7]
	b := []byte(fmt.Sprintf("%06d:", i))
	for len(b) < n {
		b = append(b, byte('a'+(i+len(b))%26))
	}
	b = b[:n]
	if i%11 == 3 && n > 0 {
		b[n-1] = 0xff
	}
	return b
}

// TestDeliverProbeMixedFramingsFanout: a lines publisher writes in large
// chunks (so frames go out as runs) to subscribers of every framing of
// one part — lines, raw, websocket text and binary, delimiter NUL,
// length-prefix 1, 2 and 4 — that read, beside members that never read
// under drop-newest (lines), drop-oldest (websocket) and disconnect
// (length-prefix 2). Every reading member gets every message it can
// carry, byte for byte, in order (length-prefix 1 has those over 255
// dropped as max_frame); the ones that never read cost drops; every
// endpoint reconciles Offered = MsgsOut + Drops + QueuedMsgs.
func TestDeliverProbeMixedFramingsFanout(t *testing.T) {
	const lines, chunk = 60000, 1000 // 8.6 MB: past what the kernel buffers for a member that never reads
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, `
endpoints:
  src:   {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  lsub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  rsub:  {kind: tcp, listen: "127.0.0.1:0", framing: raw}
  wtext: {kind: tcp, listen: "127.0.0.1:0", framing: websocket}
  wbin:  {kind: tcp, listen: "127.0.0.1:0", framing: websocket, message: binary}
  nul:   {kind: tcp, listen: "127.0.0.1:0", framing: delimiter, delimiter: "\0"}
  lp1:   {kind: tcp, listen: "127.0.0.1:0", framing: length-prefix, length_bytes: 1}
  lp2:   {kind: tcp, listen: "127.0.0.1:0", framing: length-prefix, length_bytes: 2, length_order: big}
  lp4:   {kind: tcp, listen: "127.0.0.1:0", framing: length-prefix, length_bytes: 4, length_order: big, length_includes_header: true}
  slownew:  {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: 16KiB, overflow: drop-newest}
  slowold:  {kind: tcp, listen: "127.0.0.1:0", framing: websocket, high_water: 16KiB, overflow: drop-oldest}
  slowdisc: {kind: tcp, listen: "127.0.0.1:0", framing: length-prefix, length_bytes: 2, high_water: 16KiB, overflow: disconnect}
routes:
  - {pattern: fanout, from: src, to: [lsub, rsub, wtext, wbin, nul, lp1, lp2, lp4, slownew, slowold, slowdisc]}
`)
			// The members that never read.
			dialSmallWindow(t, r.Addr("slownew"))
			if _, rep := wsUpgrade(t, dialSmallWindow(t, r.Addr("slowold")), "/"); rep.status != 101 {
				t.Fatalf("slowold: %d", rep.status)
			}
			dialSmallWindow(t, r.Addr("slowdisc"))

			type reader struct {
				name string
				next func() ([]byte, error) // the next message's payload
				take func(p []byte) bool    // whether the member gets it
			}
			all := func([]byte) bool { return true }
			lineReader := func(c net.Conn, delim byte) func() ([]byte, error) {
				br := bufio.NewReaderSize(c, 1<<16)
				return func() ([]byte, error) {
					b, err := br.ReadBytes(delim)
					if err != nil {
						return nil, err
					}
					return b[:len(b)-1], nil
				}
			}
			lenReader := func(c net.Conn, size int, inclusive bool) func() ([]byte, error) {
				br := bufio.NewReaderSize(c, 1<<16)
				return func() ([]byte, error) {
					var h [4]byte
					if _, err := io.ReadFull(br, h[:size]); err != nil {
						return nil, err
					}
					var n int
					switch size {
					case 1:
						n = int(h[0])
					case 2:
						n = int(binary.BigEndian.Uint16(h[:2]))
					default:
						n = int(binary.BigEndian.Uint32(h[:4]))
					}
					if inclusive {
						n -= size
					}
					b := make([]byte, n)
					_, err := io.ReadFull(br, b)
					return b, err
				}
			}
			wsNext := func(w *wsClient, binaryOnly bool) func() ([]byte, error) {
				return func() ([]byte, error) {
					f, err := w.readErr()
					if err != nil {
						return nil, err
					}
					wantOp := byte(1)
					if binaryOnly || !utf8.Valid(f.p) {
						wantOp = 2
					}
					if !f.fin || f.op != wantOp {
						return nil, fmt.Errorf("frame fin %v op %d, want a whole frame of op %d", f.fin, f.op, wantOp)
					}
					return f.p, nil
				}
			}
			readers := []reader{
				{"lsub", lineReader(dial(t, r.Addr("lsub")), '\n'), all},
				{"rsub", lineReader(dial(t, r.Addr("rsub")), '\n'), all},
				{"wtext", wsNext(wsDial(t, r.Addr("wtext"), "/"), false), all},
				{"wbin", wsNext(wsDial(t, r.Addr("wbin"), "/"), true), all},
				{"nul", lineReader(dial(t, r.Addr("nul")), 0), all},
				{"lp1", lenReader(dial(t, r.Addr("lp1")), 1, false), func(p []byte) bool { return len(p) <= 255 }},
				{"lp2", lenReader(dial(t, r.Addr("lp2")), 2, false), all},
				{"lp4", lenReader(dial(t, r.Addr("lp4")), 4, true), all},
			}
			waitFor(t, "every member", func() bool {
				s := r.Stats()
				for _, name := range []string{"lsub", "rsub", "wtext", "wbin", "nul", "lp1", "lp2", "lp4", "slownew", "slowold", "slowdisc"} {
					if endpoint(s, name).Active != 1 {
						return false
					}
				}
				return true
			})
			progress := make([]atomic.Int64, len(readers))
			bad := make(chan string, len(readers))
			for k, rd := range readers {
				go func() {
					for i := range lines {
						want := probeLine(i)
						if !rd.take(want) {
							progress[k].Store(int64(i + 1))
							continue
						}
						got, err := rd.next()
						if err != nil || !bytes.Equal(got, want) {
							bad <- fmt.Sprintf("%s: message %d: %v: %.60q, want %.60q", rd.name, i, err, got, want)
							return
						}
						progress[k].Store(int64(i + 1))
					}
				}()
			}
			src := dial(t, r.Addr("src"))
			for i := 0; i < lines; i += chunk {
				var b []byte
				for j := i; j < min(i+chunk, lines); j++ {
					b = append(append(b, probeLine(j)...), '\n')
				}
				if _, err := src.Write(b); err != nil {
					t.Fatal(err)
				}
				// The readers keep up (within a chunk): only the members
				// that never read meet their marks.
				end := int64(min(i+chunk, lines))
				waitProgress(t, "the reading members", func() uint64 {
					n := uint64(0)
					for k := range progress {
						n += uint64(progress[k].Load())
					}
					return n
				}, func() bool {
					select {
					case msg := <-bad:
						t.Fatal(msg)
					default:
					}
					for k := range progress {
						if progress[k].Load() < end {
							return false
						}
					}
					return true
				})
			}
			names := []string{"src", "lsub", "rsub", "wtext", "wbin", "nul", "lp1", "lp2", "lp4", "slownew", "slowold", "slowdisc"}
			waitFor(t, "every endpoint reconciled, every line offered", func() bool {
				s := r.Stats()
				for _, name := range names {
					if err := reconcile(s, name); err != nil {
						return false
					}
				}
				for _, name := range names[1 : len(names)-1] {
					if endpoint(s, name).Offered != lines {
						return false
					}
				}
				// The member disconnected at its mark left the group.
				return endpoint(s, "slowdisc").Active == 0
			})
			s := r.Stats()
			var report strings.Builder
			for _, name := range names[1:] {
				e := endpoint(s, name)
				fmt.Fprintf(&report, " %s: out %d drops %v queued %d;", name, e.MsgsOut, e.Drops, e.Queued)
			}
			t.Log(report.String())
			for _, name := range []string{"slownew", "slowold", "slowdisc"} {
				drops := uint64(0)
				for _, n := range endpoint(s, name).Drops {
					drops += n
				}
				if drops == 0 {
					t.Errorf("%s, which never reads, cost no drop", name)
				}
			}
			over := uint64(0)
			for i := range lines {
				if len(probeLine(i)) > 255 {
					over++
				}
			}
			if got := endpoint(s, "lp1").Drops["max_frame"]; got != over {
				t.Errorf("lp1 dropped %d as max_frame, want %d (the lines over 255 bytes)", got, over)
			}
		})
	}
}
