package opcodes

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/pxroute/pxroute/endpoints"
)

// Probe 30: the loop's spare carry buffer serves growth (appendInput) and
// now the first part of a large message (carry). Three conns with
// different max_frame interleave reads, partial messages and closes at
// random: each conn's carry buffer must hold exactly its own pending
// bytes, no two conns' buffers (nor the spare) may share memory, and no
// carry buffer may exceed what its conn may hold (maxInput).
func TestProbe30SpareNeverShared(t *testing.T) {
	frames := []int{64 << 10, 256 << 10, 1 << 20}
	rng := rand.New(rand.NewPCG(30, 1))
	m := &Machine{}
	cs := make([]*conn, len(frames))
	pending := make([][]byte, len(frames)) // the model: bytes not yet framed
	for i, f := range frames {
		cs[i] = &conn{terms: &terms{fr: endpoints.Lines, maxFrame: f}}
	}
	span := func(b []byte) (lo, hi uintptr) {
		if cap(b) == 0 {
			return 0, 0
		}
		lo = uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		return lo, lo + uintptr(cap(b))
	}
	fill := byte(0)
	for step := range 6000 {
		i := rng.IntN(len(cs))
		c, f := cs[i], frames[i]
		switch op := rng.IntN(10); {
		case op == 0: // the conn closes
			m.releaseInput(c)
			c.in = nil
			pending[i] = nil
		default: // a read arrives, framing consumes some, the rest is carried
			n := 1 + rng.IntN(64<<10)
			if len(pending[i])+n > f { // at most a partial message under max_frame
				n = max(0, f-len(pending[i]))
			}
			data := make([]byte, n)
			for k := range data {
				fill++
				data[k] = fill
			}
			if len(c.in) == 0 {
				// Framed in a port buffer (here a fresh slice).
				c.cur = append(append([]byte(nil), pending[i]...), data...)
			} else {
				m.appendInput(c, data)
			}
			pending[i] = append(pending[i], data...)
			k := 0
			if rng.IntN(3) == 0 {
				k = rng.IntN(len(pending[i]) + 1) // messages completed
			}
			c.cur = c.cur[k:]
			pending[i] = pending[i][k:]
			m.carry(c)
		}
		for j, d := range cs {
			if !bytes.Equal(d.in, pending[j]) {
				t.Fatalf("step %d: conn %d holds %d bytes, not its own %d pending", step, j, len(d.in), len(pending[j]))
			}
			if cap(d.in) > maxInput(frames[j]) {
				t.Fatalf("step %d: conn %d's carry buffer is %d bytes, over its %d", step, j, cap(d.in), maxInput(frames[j]))
			}
			alo, ahi := span(d.in)
			for _, e := range append(cs[j+1:], &conn{in: m.spareIn}) {
				blo, bhi := span(e.in)
				if alo < bhi && blo < ahi {
					t.Fatalf("step %d: conn %d's carry buffer shares memory with another conn's or the spare", step, j)
				}
			}
		}
	}
}
