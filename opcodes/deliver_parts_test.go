package opcodes

import (
	"encoding/binary"
	"testing"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints"
)

// twoByteParts is a destination framing with a header per part: a 2-byte
// length, then the part. Only what deliver needs of it is real.
type twoByteParts struct{}

func (twoByteParts) Name() string                                   { return "test-2byte-parts" }
func (twoByteParts) Boundaries() bool                               { return true }
func (twoByteParts) Split([]byte, int) (int, int, int, error)       { return 0, 0, 0, nil }
func (twoByteParts) Encode(hdr []byte, _ [][]byte) ([]byte, []byte) { return nil, nil }
func (twoByteParts) SplitParts([]byte, int, []contract.Part) (int, []contract.Part, error) {
	return 0, nil, nil
}
func (twoByteParts) EncodeParts(hdr []byte, segs, payload [][]byte) ([]byte, [][]byte) {
	for _, p := range payload {
		at := len(hdr)
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(len(p)))
		segs = append(segs, hdr[at:len(hdr):len(hdr)], p)
	}
	return hdr, segs
}

// threeParts is a message of three parts in a made-up wire.
func threeParts() message {
	wire := []byte("..topic..subject..body-of-the-message")
	parts := []contract.Part{{Lo: 2, Hi: 7}, {Lo: 9, Hi: 16}, {Lo: 18, Hi: len(wire)}}
	return message{wire: wire, lo: 2, hi: 7, parts: parts}
}

// TestDeliverOfPartsQueuesThemUnjoinedWithoutAllocating: a message of
// three parts queued for a single-part destination is its parts back to
// back in that framing; for a multipart one, each part with its header;
// and, once the loop's scratch has grown, neither allocates.
func TestDeliverOfPartsQueuesThemUnjoinedWithoutAllocating(t *testing.T) {
	cases := []struct {
		name string
		to   contract.Framing
		want string
	}{
		{"to-lines", endpoints.Lines, "topicsubjectbody-of-the-message\n"},
		{"to-length-prefix", endpoints.LengthPrefix, "\x1f\x00\x00\x00\x00\x00\x00\x00topicsubjectbody-of-the-message"},
		{"to-another-multipart-framing", twoByteParts{}, "\x00\x05topic\x00\x07subject\x00\x13body-of-the-message"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &Machine{prog: &Prog{Edges: []Edge{testDropEdge}}, counters: make([]epCounters, 2), edgeFigs: make([]edgeCounters, 1), chunks: chunkPool{max: 64}}
			to := &terms{fr: tc.to, frID: 1, maxFrame: 1 << 20, hwm: 1 << 30}
			to.multi, _ = tc.to.(contract.Multipart)
			d := &conn{ep: 1, terms: to, dirty: true}
			src := &conn{ep: 0, terms: &terms{frID: 0}}
			msg := threeParts()
			m.deliver(src, d, &m.prog.Edges[0], &m.edgeFigs[0], 0, nil, &msg)
			var got []byte
			for _, b := range d.out.iov(nil) {
				got = append(got, b...)
			}
			if string(got) != tc.want {
				t.Fatalf("queued %q, want %q", got, tc.want)
			}
			d.out.consume(&m.chunks, d.out.len())
			allocs := testing.AllocsPerRun(100, func() {
				m.deliver(src, d, &m.prog.Edges[0], &m.edgeFigs[0], 0, nil, &msg)
				d.out.consume(&m.chunks, d.out.len())
			})
			if allocs != 0 {
				t.Fatalf("%v allocations a delivery", allocs)
			}
			// One, then AllocsPerRun's warm-up run and its 100.
			if c := m.counters[1]; c.Offered != 102 || c.QueuedMsgs != 102 {
				t.Fatalf("offered %d, queued %d: want one message a delivery, whatever its parts", c.Offered, c.QueuedMsgs)
			}
		})
	}
}

// testDropEdge is a fan-out edge: over the marks, drop the new message.
var testDropEdge = Edge{Fallback: contract.PolicyDropNewest}
