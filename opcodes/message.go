package opcodes

import "github.com/pxroute/pxroute/contract"

// message is one message on its way from frame to send: its wire bytes as
// received and where its payload lies in them. A message is one or more
// parts. Single-part framings give one, wire[lo:hi], and parts is nil; a
// contract.Multipart framing gives every part's bounds in parts, and
// lo:hi is the first part's. The parts slice is scratch (the conn's, a
// batch's): it is valid while the message is, and copied by whoever keeps
// the message longer (a held request).
type message struct {
	wire   []byte
	lo, hi int             // the only part, or the first
	parts  []contract.Part // every part; nil: one part, wire[lo:hi]
}

// first is the only or first part: what topic filters match (ZeroMQ's
// SUB matches the first frame; NATS's subject is the first part), what a
// subscription and a nickname are read from.
func (g message) first() []byte { return g.wire[g.lo:g.hi] }

// size is the payload's length: every part's bytes, no headers.
func (g message) size() int {
	if g.parts == nil {
		return g.hi - g.lo
	}
	n := 0
	for _, p := range g.parts {
		n += p.Hi - p.Lo
	}
	return n
}

// count is its number of parts.
func (g message) count() int {
	if g.parts == nil {
		return 1
	}
	return len(g.parts)
}

// payload appends the parts, as slices of the wire, to dst.
func (g message) payload(dst [][]byte) [][]byte {
	if g.parts == nil {
		return append(dst, g.wire[g.lo:g.hi])
	}
	for _, p := range g.parts {
		dst = append(dst, g.wire[p.Lo:p.Hi])
	}
	return dst
}

// clone is a copy of g that owns its bytes and parts.
func (g message) clone() message {
	g.wire = append([]byte(nil), g.wire...)
	if g.parts != nil {
		g.parts = append([]contract.Part(nil), g.parts...)
	}
	return g
}

// current is c's current message, as OpFrame left it.
func (c *conn) current() message {
	return message{wire: c.msg, lo: c.lo, hi: c.hi, parts: c.parts}
}
