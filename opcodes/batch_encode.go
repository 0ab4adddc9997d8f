package opcodes

import "github.com/pxroute/pxroute/contract"

// Runs in another framing: a run of lines read for WebSocket subscribers
// (or any members whose framing of one part differs from the reader's) is
// encoded once per destination framing, message after message, copied
// once into the share stream, and taken whole by every member of that
// framing that takes runs, as members of the reader's framing take its
// bytes. Framings with the same name encode identically
// (contract.Framing), so one member's framing encodes for all of its
// frID. A member that cannot take the run whole (closing, over a mark,
// its framing cannot carry a message) gets the messages one by one from
// the reader's bytes, exactly as single sends deliver them: its policy,
// marks and counters see each message.

// recoding is a loop's scratch for encoding runs in another framing.
type recoding struct {
	members []*conn    // a run's members of other framings not yet served
	data    []byte     // the run in one framing, message after message
	msgs    []batchMsg // where each of its messages ends in data (end only)
}

// keepRecoded is the capacity up to which the encoded run's buffer is kept
// for the next run.
const keepRecoded = 256 << 10

// deliverEncoded delivers the run (as deliverRun has it) to the members
// deliverRun left in m.recode.members, framing by framing.
func (m *Machine) deliverEncoded(src *conn, e *Edge, fig *edgeCounters, frID uint32, fr contract.Framing, data []byte, base int, msgs []batchMsg, maxPayload int) {
	r := &m.recode
	for len(r.members) > 0 {
		to := r.members[0].terms
		m.encodeRun(to.fr, data, base, msgs)
		m.shared.copyRun(&m.chunks, r.data, 0, r.msgs)
		rest := r.members[:0]
		for _, d := range r.members {
			if d.terms.frID != to.frID {
				rest = append(rest, d)
				continue
			}
			// Encoded messages are the run's, one for one: what d does
			// not take of one run it gets of the other, one by one.
			if j := m.queueRun(d, e, fig, to.frID, len(r.data), len(r.msgs), maxPayload, 0, r.msgs); j < len(msgs) {
				m.deliverEach(src, d, e, fig, frID, fr, data, base, msgs, j)
			}
		}
		m.shared.releaseRun(&m.chunks)
		clear(r.members[len(rest):])
		r.members = rest
	}
	if cap(r.data) > keepRecoded {
		r.data = nil
	}
}

// encodeRun encodes the run's payloads in framing to into m.recode, as
// deliver encodes one message of one part for a destination of another
// framing.
func (m *Machine) encodeRun(to contract.Framing, data []byte, base int, msgs []batchMsg) {
	r := &m.recode
	out, enc := r.data[:0], r.msgs[:0]
	from := base
	for _, msg := range msgs {
		p := data[from-base+msg.lo : from-base+msg.hi]
		from = msg.end
		m.one[0] = p
		head, tail := to.Encode(m.hdr[:], m.one[:])
		out = append(append(append(out, head...), p...), tail...)
		enc = append(enc, batchMsg{end: len(out)})
	}
	m.one[0] = nil
	r.data, r.msgs = out, enc
}
