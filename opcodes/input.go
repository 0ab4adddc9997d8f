package opcodes

import (
	"github.com/pxroute/pxroute/completion"

	"github.com/pxroute/pxroute/contract"
)

// Input: a read lands in a port buffer (completion.Buf) and is framed there;
// only a message still arriving when the buffer goes back to the port is
// copied into the conn's own carry buffer (conn.in), and the reads after
// it are appended there until the message is whole.
//
// Worst case, per connection: the carry buffer holds a partial message
// (under max_frame, plus a delimiter or length header) and at most one
// read (completion.BufSize, 64 KiB) appended to it, and it never grows
// past that: max_frame + 64 KiB + a few bytes (maxInput). It is given back
// when the message completes and when the connection closes; what is left
// of the read moves to a buffer its own size. A port buffer is held only
// while its bytes are being framed, never by an idle connection.
//
// A buffer given back becomes the loop's one spare (Machine.spareIn), which
// the next carry buffer that must grow, or be made for a large part of a
// message, takes instead of allocating: a
// connection streaming large messages reuses one buffer, and idle
// connections hold none. Per loop, then: the connections' carry buffers,
// plus one spare of at most keepSpare.
//
// A framing that searches for a message's end (lines, delimiter: Resumer)
// resumes where the last search stopped (conn.scanned), so a message
// dribbled in small reads is searched once in all; length-prefix reads its
// header each time, which costs the same whatever the message's size.

// keepInput is the capacity up to which a carry buffer is kept for reuse
// when it empties: small partial messages are common, and cheap to keep.
const keepInput = 4 << 10

// keepSpare is the largest buffer kept as the loop's spare: larger ones
// (max_frame over 4 MiB) are not held once their message is done; their
// cost, an allocation a message, is small beside the message's.
const keepSpare = 4<<20 + completion.BufSize

// maxInput is the most a conn's carry buffer grows to: a partial message
// under max_frame (a delimiter or length header may add a few bytes; see
// appendInput) and one read.
func maxInput(maxFrame int) int { return maxFrame + completion.BufSize }

// appendInput appends b to c's carry buffer. Where it must grow, it
// doubles, so that a message read in small pieces is copied O(1) times a
// byte, but never past maxInput: append's own growth would overshoot by a
// quarter of max_frame, and a doubling by all of it.
func (m *Machine) appendInput(c *conn, b []byte) {
	need := len(c.in) + len(b)
	if need > cap(c.in) {
		limit := max(maxInput(c.terms.maxFrame), need)
		var grown []byte
		if s := m.spareIn; cap(s) >= need && cap(s) <= limit {
			grown, m.spareIn = s[:len(c.in)], nil
		} else {
			grown = make([]byte, len(c.in), min(max(2*cap(c.in), need, keepInput), limit))
		}
		copy(grown, c.in)
		c.in = grown
	}
	c.in = append(c.in, b...)
	c.cur = c.in
}

// giveBack makes in the loop's spare carry buffer if it is larger than the
// one there; the smaller goes to the garbage collector.
func (m *Machine) giveBack(in []byte) {
	if cap(in) > cap(m.spareIn) && cap(in) <= keepSpare {
		m.spareIn = in[:0]
	}
}

// split frames the next message off c.cur, resuming a search for its end
// where the last one stopped. A multipart framing's parts go to c.parts
// (reused: no allocation a message), and lo:hi is the first part.
func (m *Machine) split(c *conn) (wire, lo, hi int, err error) {
	if mp := c.terms.multi; mp != nil {
		wire, c.parts, err = mp.SplitParts(c.cur, c.terms.maxFrame, c.parts[:0])
		if wire == 0 || err != nil {
			return wire, 0, 0, err
		}
		if len(c.parts) == 0 {
			c.parts = append(c.parts, contract.Part{}) // at least one part, if empty
		}
		return wire, c.parts[0].Lo, c.parts[0].Hi, nil
	}
	r, ok := c.terms.fr.(contract.Resumer)
	if !ok {
		return c.terms.fr.Split(c.cur, c.terms.maxFrame)
	}
	wire, lo, hi, c.scanned, err = r.SplitFrom(c.cur, c.terms.maxFrame, min(c.scanned, len(c.cur)))
	if wire > 0 || err != nil {
		c.scanned = 0 // the next message starts with its own search
	}
	return wire, lo, hi, err
}

// carry keeps a partial message across reads, in the conn's own buffer.
// c.scanned stays valid: the message keeps its start.
func (m *Machine) carry(c *conn) {
	if len(c.cur) == 0 {
		m.releaseInput(c)
		return
	}
	switch {
	case len(c.in) > 0 && &c.cur[0] == &c.in[0]:
		// Nothing was split off since it was carried: it stays put.
		c.in = c.in[:len(c.cur)]
	case cap(c.in) >= len(c.cur) && cap(c.in) <= max(keepInput, 2*len(c.cur)):
		// The buffer fits the rest without hoarding (copy allows overlap:
		// the rest may be the buffer's own tail).
		c.in = c.in[:copy(c.in[:cap(c.in)], c.cur)]
	default:
		// The buffer is too small, or much too large for what is left
		// (a large message has completed): another, the loop's spare for
		// a large part (which would otherwise cost an allocation of its
		// size every large message), else a new one its size.
		old := c.in
		if s := m.spareIn; len(c.cur) > keepInput && cap(s) >= len(c.cur) && cap(s) <= maxInput(c.terms.maxFrame) {
			m.spareIn = nil
			c.in = s[:copy(s[:len(c.cur)], c.cur)]
		} else {
			c.in = append([]byte(nil), c.cur...)
		}
		if cap(old) > keepInput {
			m.giveBack(old)
		}
	}
	c.cur, c.msg = nil, nil // the last message is done with
	if c.buf != nil {
		m.port.Release(c.buf)
		c.buf = nil
	}
}

// releaseInput lets go of c's input once nothing is left to frame: its
// port buffer, and its carry buffer unless that is small enough to keep.
func (m *Machine) releaseInput(c *conn) {
	c.cur, c.msg = nil, nil
	c.scanned = 0
	if c.buf != nil {
		m.port.Release(c.buf)
		c.buf = nil
	}
	if cap(c.in) > keepInput {
		m.giveBack(c.in)
		c.in = nil // an idle conn keeps no large buffer
	}
	c.in = c.in[:0]
}
