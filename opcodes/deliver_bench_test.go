package opcodes

import (
	"bytes"
	"testing"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints"
)

// BenchmarkDeliver is the hot path of every send: one single-part message
// queued for one destination (its wire bytes as they came, or re-encoded
// for another framing) and for a group of eight, then written out. It
// guards the cost of carrying messages as parts.
func BenchmarkDeliver(b *testing.B) {
	line := append(bytes.Repeat([]byte("x"), 63), '\n')
	cases := []struct {
		name    string
		to      contract.Framing
		members int
	}{
		{"same-framing", endpoints.Lines, 1},
		{"encoded", endpoints.LengthPrefix, 1},
		{"group-of-8", endpoints.Lines, 8},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			m := &Machine{prog: &Prog{Edges: []Edge{testDropEdge}}, counters: make([]epCounters, 2), edgeFigs: make([]edgeCounters, 1), chunks: chunkPool{max: 64}, groups: make([][]*conn, 1)}
			from := &terms{fr: endpoints.Lines, frID: 0, maxFrame: 1 << 20, hwm: 1 << 30}
			to := &terms{fr: tc.to, frID: 1, maxFrame: 1 << 20, hwm: 1 << 30}
			if tc.to == endpoints.Lines {
				to.frID = 0
			}
			src := &conn{ep: 0, terms: from}
			for range tc.members {
				m.groups[0] = append(m.groups[0], &conn{ep: 1, terms: to, dirty: true})
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			b.ResetTimer()
			for range b.N {
				benchDeliver(m, src, line, 0, len(line)-1, tc.members)
				for _, d := range m.groups[0] {
					d.out.consume(&m.chunks, d.out.len())
				}
			}
		})
	}
}

// benchDeliver sends one message as send does: to the one member, or to
// the group.
func benchDeliver(m *Machine, src *conn, wire []byte, lo, hi, members int) {
	if members == 1 {
		m.deliver(src, m.groups[0][0], &m.prog.Edges[0], &m.edgeFigs[0], src.terms.frID, src.terms.fr, &message{wire: wire, lo: lo, hi: hi})
		return
	}
	m.deliverGroup(src, src, 0, 0, src.terms.frID, src.terms.fr, message{wire: wire, lo: lo, hi: hi})
	m.shared.done()
}
