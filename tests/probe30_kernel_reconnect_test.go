package tests

import (
	"bytes"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints"
)

// Probe 30: a destination whose first connection the kernel seals
// (spliced into) and whose next, after a reconnect, the loop seals. What
// a splice pipe held for the first must not reach the second raw. Here
// the loop's "sealing" XORs each byte with 0x55, so a letter on the
// second connection's wire that decodes to a non-letter was sent raw.

// xorRecords is a loop-sealed transport: each byte XOR 0x55.
type xorRecords struct{}

func xor55(b, out []byte) []byte {
	for _, c := range b {
		out = append(out, c^0x55)
	}
	return out
}
func (xorRecords) Seal(p, out []byte) ([]byte, error)   { return xor55(p, out), nil }
func (xorRecords) Unseal(w, out []byte) ([]byte, error) { return xor55(w, out), nil }
func (xorRecords) Leftover() []byte                     { return nil }
func (xorRecords) CloseNotify(out []byte) []byte        { return out }
func (xorRecords) Described() string                    { return "xor 0x55 on the loop" }

// alternateSecurer: the first connection kernel-sealed (fake), the rest
// sealed on the loop.
type alternateSecurer struct{ n *atomic.Int32 }

func (s alternateSecurer) Secure(fd int, role contract.Role, done func(contract.Transport, error)) func() {
	if s.n.Add(1) == 1 {
		done(&fakeKernelRecords{}, nil)
	} else {
		done(xorRecords{}, nil)
	}
	return func() {}
}

func init() {
	tcp, _ := endpoints.Lookup("tcp")
	endpoints.Register("tcp-kernel-then-loop", func(p endpoints.Params) endpoints.Endpoint {
		e := tcp(p)
		if e != nil {
			e.Settings().Secure = alternateSecurer{n: new(atomic.Int32)}
		}
		return e
	})
}

func TestProbe30KernelThenLoopSealedReconnect(t *testing.T) {
	letters := []byte(strings.Repeat("abcdefghijklmnopqrstuvwxyz", 1<<12))
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			// The source streams letters as fast as it may.
			src := serveEach(t, listenLocal(t), func(c net.Conn) {
				for {
					c.SetWriteDeadline(time.Now().Add(ioTimeout))
					if _, err := c.Write(letters); err != nil {
						return
					}
				}
			})
			second := make(chan []byte, 1)
			var n atomic.Int32
			dst := serveEach(t, listenLocal(t), func(c net.Conn) {
				if n.Add(1) == 1 {
					// Take a little, then reset: the pipe is full behind.
					io.ReadFull(c, make([]byte, 256<<10))
					c.(*net.TCPConn).SetLinger(0)
					return
				}
				b := make([]byte, 4<<20)
				c.SetReadDeadline(time.Now().Add(ioTimeout))
				k, _ := io.ReadAtLeast(c, b, 1<<20)
				second <- b[:k]
			})
			r := start(t, v, `
endpoints:
  src: {kind: tcp, connect: "`+src+`"}
  dst: {kind: tcp-kernel-then-loop, connect: "`+dst+`", reconnect_initial: 10ms}
routes:
  - {pattern: forward, from: src, to: dst}
`)
			var got []byte
			select {
			case got = <-second:
			case <-time.After(2 * ioTimeout):
				t.Fatalf("no second connection: dst %+v, ops %v", endpoint(r.Stats(), "dst"), r.Stats().Ops)
			}
			if ops := r.Stats().Ops; ops["splice"] == 0 {
				t.Fatalf("no splice ran (ops %v): the kernel-sealed first connection was not spliced into", ops)
			}
			plain := xor55(got, nil)
			if i := bytes.IndexFunc(plain, func(c rune) bool { return c < 'a' || c > 'z' }); i >= 0 {
				t.Fatalf("the loop-sealed connection got raw bytes at %d of %d: %q", i, len(got), got[i:min(len(got), i+40)])
			}
			t.Logf("second connection: %d bytes, all sealed; dst %+v", len(got), endpoint(r.Stats(), "dst"))
		})
	}
}
