package opcodes

import "github.com/pxroute/pxroute/contract"

// A relay edge may rewrite a message on its way: the sender's name goes
// before the first part ("<name> "), as a NATS subject or a ZeroMQ topic
// frame is the part a reader looks at first; sanitizing cleans every
// part, since any part may reach a terminal.

// rewrites reports whether e changes c's message: a name to put before
// it, or a part holding terminal controls to clean.
func (m *Machine) rewrites(c *conn, e *Edge, msg message) bool {
	if e.Prefix && len(c.nameOrNil()) > 0 {
		return true
	}
	if !e.Sanitize {
		return false
	}
	if msg.parts == nil {
		return needsCleaning(msg.first())
	}
	for _, p := range msg.parts {
		if needsCleaning(msg.wire[p.Lo:p.Hi]) {
			return true
		}
	}
	return false
}

// prefixed builds the message e makes of msg — "<name> " before the first
// part when e prefixes and c has a name, every part cleaned of terminal
// controls when e sanitizes — in c's own framing, in scratch space valid
// until the next call (it allocates only to grow that). It reports false
// when c's framing cannot carry the result (a multipart framing that does
// not read back what it encoded: a framing's bug, counted, not a crash).
func (m *Machine) prefixed(c *conn, e *Edge, msg message) (message, bool) {
	body, bounds := m.named[:0], m.bodyParts[:0]
	n := 1
	if msg.parts != nil {
		n = len(msg.parts)
	}
	for i := range n {
		part := msg.first()
		if msg.parts != nil {
			part = msg.wire[msg.parts[i].Lo:msg.parts[i].Hi]
		}
		lo := len(body)
		if i == 0 && e.Prefix && len(c.nameOrNil()) > 0 {
			body = append(append(append(body, '<'), c.ro.name...), "> "...)
		}
		if e.Sanitize {
			body = appendClean(body, part)
		} else {
			body = append(body, part...)
		}
		bounds = append(bounds, contract.Part{Lo: lo, Hi: len(body)})
	}
	m.named, m.bodyParts = body, bounds
	payload := m.payload[:0]
	for _, p := range bounds {
		payload = append(payload, body[p.Lo:p.Hi])
	}
	defer func() { clear(payload); m.payload = payload[:0] }()
	if mp := c.terms.multi; mp != nil {
		var segs [][]byte
		m.hdrs, segs = mp.EncodeParts(m.hdrs[:0], m.segs[:0], payload)
		wire := m.prefixBuf[:0]
		for _, b := range segs {
			wire = append(wire, b...)
		}
		clear(segs)
		m.segs, m.prefixBuf = segs[:0], wire
		// Read the parts' bounds back: the framing alone knows where its
		// headers put them.
		n, parts, err := mp.SplitParts(wire, len(wire), m.prefixParts[:0])
		m.prefixParts = parts
		if err != nil || n != len(wire) || len(parts) == 0 {
			m.log.Error("a multipart framing cannot read back what it encoded: the message is dropped (max_frame)", "endpoint", m.prog.Endpoints[c.ep], "framing", c.terms.fr.Name(), "err", err)
			return message{}, false
		}
		return message{wire: wire, lo: parts[0].Lo, hi: parts[0].Hi, parts: parts}, true
	}
	head, tail := c.terms.fr.Encode(m.hdr[:], payload)
	m.prefixBuf = append(append(append(m.prefixBuf[:0], head...), body...), tail...)
	return message{wire: m.prefixBuf, lo: len(head), hi: len(head) + len(body)}, true
}
