package opcodes

import (
	"bytes"
	"testing"

	"github.com/pxroute/pxroute/endpoints"
)

// A message for one empty queue (an echo, a bridge's, a reply) goes by
// the loop's share stream so that a burst of small answers fills one
// chunk. A message larger than a chunk must not: the stream would take a
// chunk of its size from the collector for every such message (never
// pooled), and keep the last one or two as its fill once written, bytes
// no queue counts. Queued in the connection's own pooled chunks, a large
// echo costs no allocation once warm and leaves nothing held when
// written.
func TestOneLargeMessageToOneQueueUsesPooledChunks(t *testing.T) {
	for _, size := range []int{outChunk + 1, 200 << 10, 1 << 20} {
		m := probeMachine([]probeMember{{fr: endpoints.Lines, frID: 0, hwm: 4 << 20}})
		d := m.groups[0][0]
		wire := append(bytes.Repeat([]byte{'e'}, size-1), '\n')
		msg := message{wire: wire, lo: 0, hi: size - 1}
		m.deliver(nil, d, m.edge(0), &m.edgeFigs[0], 0, endpoints.Lines, &msg)
		if got, _ := queuedOf(d); !bytes.Equal(got, wire) {
			t.Fatalf("%d bytes: queued %d bytes, not the message", size, len(got))
		}
		probeWrite(m, d, d.queued())
		echo := func() {
			msg := message{wire: wire, lo: 0, hi: size - 1}
			m.deliver(nil, d, m.edge(0), &m.edgeFigs[0], 0, endpoints.Lines, &msg)
			probeWrite(m, d, d.queued())
		}
		if allocs := testing.AllocsPerRun(20, echo); allocs != 0 {
			t.Errorf("%d bytes: %.0f allocations an echo once warm, want 0 (chunks from the pool)", size, allocs)
		}
		held := 0
		for _, c := range []*chunk{m.shared.fill, m.shared.prev} {
			if c != nil && cap(c.b) > outChunk {
				held += cap(c.b)
			}
		}
		if held > 0 {
			t.Errorf("%d bytes: the share stream holds %d bytes of chunks no pool takes back, with nothing queued", size, held)
		}
		chunkLedger(t, m, "written")
		balanced(t, m, "written")
	}
}
