package opcodes

import (
	"testing"

	"github.com/pxroute/pxroute/endpoints"
)

// A message larger than what one read brings arrives in pieces: the
// first is carried out of the port's buffer into the conn's own, the
// rest appended, and the buffer becomes the loop's spare once the
// message is whole. Once warm, a stream of such messages allocates
// nothing: the carry takes the spare. It used to allocate a buffer of
// the first piece's size for every message, and 64 KiB requests through
// `request` spent more of pxroute's CPU in the collector than in moving
// their bytes.
func TestLargeMessagesCarriedWithoutAllocating(t *testing.T) {
	for _, tc := range []struct {
		name        string
		first, rest int
	}{
		{"64KiB-and-its-header", 64 << 10, 8},
		{"two-reads", 64 << 10, 64 << 10},
		{"then-much-more", 32 << 10, 200 << 10},
		{"just-over-the-kept-size", keepInput + 1, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Machine{}
			c := &conn{terms: &terms{fr: endpoints.Lines, maxFrame: 1 << 20}}
			first, rest := make([]byte, tc.first), make([]byte, tc.rest)
			message := func() {
				c.cur = first // framed in a port buffer: the message goes on
				m.carry(c)
				m.appendInput(c, rest)
				c.cur = c.cur[len(c.cur):] // framed whole: nothing left
				m.carry(c)
			}
			message() // warm: the first message leaves the spare
			if allocs := testing.AllocsPerRun(20, message); allocs != 0 {
				t.Errorf("%.0f allocations a message once warm, want 0 (the loop's spare carries it)", allocs)
			}
			if c.in != nil {
				t.Errorf("an idle conn holds a carry buffer of %d bytes", cap(c.in))
			}
			if limit := maxInput(c.terms.maxFrame); cap(m.spareIn) > limit {
				t.Errorf("the spare holds %d bytes, over the %d a conn may", cap(m.spareIn), limit)
			}
		})
	}
}
