package opcodes

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints"
)

// A hostile probe of the delivery paths: long random sequences of runs
// (from this loop and from another's batch), single sends to one empty or
// busy queue (echo, bridge, reply: the share stream with one
// destination), partial writes, members closing, against the same
// sequence delivered one message at a time. After every step each
// member's queue, message ends and counters must match, Offered must be
// MsgsOut + Drops + QueuedMsgs, every chunk's reference count must be
// what the queues and the stream hold (a chunk in the pool that a queue
// still references would be refilled under it), and no queue may hold
// more than three chunks beyond its queued bytes (queue.go's bound).

// probeMember is one group member of the probe: its framing and marks.
type probeMember struct {
	fr           contract.Framing
	frID         uint32
	hwm, hwmMsgs int
	policy       contract.Policy
	multi        bool
}

// probeMachine makes a machine whose group 0 is members (endpoint i+1
// each), empty queues with a send under way (no socket to write to).
func probeMachine(members []probeMember) *Machine {
	m := &Machine{prog: &Prog{Edges: []Edge{testDropEdge}, Endpoints: make([]string, len(members)+1)}, counters: make([]epCounters, len(members)+1), edgeFigs: make([]edgeCounters, 1), chunks: chunkPool{max: 64}, groups: make([][]*conn, 1)}
	m.log = slog.New(slog.DiscardHandler)
	for i, mb := range members {
		to := &terms{fr: mb.fr, frID: mb.frID, raw: !mb.fr.Boundaries(), maxFrame: 1 << 20, hwm: mb.hwm, hwmMsgs: mb.hwmMsgs, policy: mb.policy}
		if cp, ok := mb.fr.(contract.Capped); ok {
			to.maxOut = cp.MaxPayload()
		}
		if mb.multi {
			to.multi = twoByteParts{}
		}
		to.gate, _ = mb.fr.(contract.Gated)
		m.groups[0] = append(m.groups[0], &conn{ep: uint32(i + 1), terms: to, sending: true})
	}
	return m
}

// probeWrite accounts n bytes of d's queue written, as a send completion
// would.
func probeWrite(m *Machine, d *conn, n int) {
	had := d.queued()
	m.wrote(d, n)
	if had > 0 && d.queued() == 0 {
		m.emptied(d)
	}
}

// chunkLedger checks that every chunk's reference count is what the
// machine's queues and share stream hold of it, and that no chunk in the
// pool is referenced at all.
func chunkLedger(t *testing.T, m *Machine, step string) {
	t.Helper()
	held := map[*chunk]int32{}
	for _, d := range m.groups[0] {
		for i := d.out.head; i < len(d.out.segs); i++ {
			held[d.out.segs[i].c]++
		}
		if d.out.fill != nil {
			held[d.out.fill]++
		}
	}
	s := &m.shared
	for _, c := range []*chunk{s.fill, s.prev} {
		if c != nil {
			held[c]++
		}
	}
	for _, c := range s.held {
		held[c]++
	}
	for c, n := range held {
		if c.refs != n {
			t.Fatalf("%s: a chunk has %d references, the queues and the stream hold %d", step, c.refs, n)
		}
	}
	for _, c := range m.chunks.free {
		if held[c] > 0 {
			t.Fatalf("%s: a pooled chunk is still referenced %d times", step, held[c])
		}
	}
}

// balanced checks Offered = MsgsOut + Drops + QueuedMsgs for every member,
// and that the queued figures are the queue's.
func balanced(t *testing.T, m *Machine, step string) {
	t.Helper()
	for i, d := range m.groups[0] {
		ct := m.counters[d.ep]
		var drops uint64
		for _, n := range ct.Drops {
			drops += n
		}
		if ct.Offered != ct.MsgsOut+drops+uint64(ct.QueuedMsgs) {
			t.Fatalf("%s: member %d: offered %d != out %d + drops %d + queued %d", step, i, ct.Offered, ct.MsgsOut, drops, ct.QueuedMsgs)
		}
		if int(ct.QueuedMsgs) != d.out.msgs() || int(ct.Queued) != d.queued() {
			t.Fatalf("%s: member %d: counted %d messages %d bytes queued, the queue holds %d, %d", step, i, ct.QueuedMsgs, ct.Queued, d.out.msgs(), d.queued())
		}
	}
}

func TestDeliverPathsRandomAgainstOneByOne(t *testing.T) {
	wsText, _ := endpoints.FramingByName("websocket")
	lp1, _ := endpoints.NewLengthPrefix(1, false, false)
	lp2, _ := endpoints.NewLengthPrefix(2, true, false)
	lp4, _ := endpoints.NewLengthPrefix(4, false, true)
	nul, _ := endpoints.NewDelimiter([]byte{0}, false)
	framings := []probeMember{
		{fr: endpoints.Lines, frID: 0},
		{fr: endpoints.Raw, frID: 1},
		{fr: wsText, frID: 2},
		{fr: wsBinary(t), frID: 3},
		{fr: lp1, frID: 4},
		{fr: twoByteParts{}, frID: 5, multi: true},
		{fr: lp2, frID: 6},
		{fr: lp4, frID: 7},
		{fr: nul, frID: 8},
		// Gated, with the reader's name and so its frID (as nats has
		// with another nats endpoint): never the reader's bytes as they
		// came, never a run; what it refuses counts max_frame.
		{fr: gatedLines{endpoints.Lines}, frID: 0},
	}
	// Block: runs from another loop's batch block no sender (runnable
	// keeps this loop's senders off runs to block members); disconnect:
	// the member fails at its mark and drops the rest.
	policies := []contract.Policy{contract.PolicyDropNewest, contract.PolicyDropOldest, contract.PolicyBlock, contract.PolicyDisconnect}
	for seed := range uint64(12) {
		t.Run(fmt.Sprint("seed-", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			var members []probeMember
			for i := range 12 {
				mb := framings[(i+int(seed))%len(framings)]
				mb.policy = policies[rng.IntN(len(policies))]
				mb.hwm = []int{1 << 20, 3000, 700, 200}[rng.IntN(4)]
				if rng.IntN(3) == 0 {
					mb.hwmMsgs = 1 + rng.IntN(30)
				}
				members = append(members, mb)
			}
			run, one := probeMachine(members), probeMachine(members)
			for step := range 200 {
				name := fmt.Sprint("step ", step)
				switch op := rng.IntN(10); {
				case op < 5: // a run: this loop's, or another loop's batch
					data, msgs, base := probeRun(rng)
					src := (*conn)(nil)
					run.deliverRun(src, nil, 0, 0, 0, endpoints.Lines, data, base, msgs)
					from := base
					for _, msg := range msgs {
						one.deliverGroup(nil, nil, 0, 0, 0, endpoints.Lines, message{wire: data[from-base : msg.end-base], lo: msg.lo, hi: msg.hi})
						one.shared.done()
						from = msg.end
					}
					name += fmt.Sprintf(" (run of %d)", len(msgs))
				case op < 7: // one message for one member (echo, bridge, reply)
					i := rng.IntN(len(members))
					data, msgs, base := probeRun(rng)
					msg := message{wire: data[:msgs[0].end-base], lo: msgs[0].lo, hi: msgs[0].hi}
					for _, m := range []*Machine{run, one} {
						mm := msg
						m.deliver(nil, m.groups[0][i], m.edge(0), &m.edgeFigs[0], 0, endpoints.Lines, &mm)
					}
					name += fmt.Sprintf(" (one to member %d)", i)
				case op < 9: // a write completes part of a queue
					i := rng.IntN(len(members))
					q := run.groups[0][i].queued()
					if q == 0 {
						continue
					}
					n := 1 + rng.IntN(q)
					probeWrite(run, run.groups[0][i], n)
					probeWrite(one, one.groups[0][i], n)
					name += fmt.Sprintf(" (member %d wrote %d)", i, n)
				default: // a member closes mid-stream, a write in flight
					i := rng.IntN(len(members))
					for _, m := range []*Machine{run, one} {
						d := m.groups[0][i]
						if d.closed() {
							continue
						}
						m.dropQueue(d, DropDisconnect)
						d.life = connClosed
					}
					name += fmt.Sprintf(" (member %d closed)", i)
				}
				for i := range members {
					// The bytes every few steps (copying every queue each
					// step is most of the test's time under -race).
					if step%8 == 7 || step == 199 {
						got, gotEnds := queuedOf(run.groups[0][i])
						want, wantEnds := queuedOf(one.groups[0][i])
						if !bytes.Equal(got, want) || !reflect.DeepEqual(gotEnds, wantEnds) {
							t.Fatalf("%s: member %d (%s): queued %d bytes ends %v, one by one %d bytes ends %v", name, i, members[i].fr.Name(), len(got), gotEnds, len(want), wantEnds)
						}
					}
					if run.counters[i+1] != one.counters[i+1] {
						t.Fatalf("%s: member %d (%s): counters\n%+v\none by one\n%+v", name, i, members[i].fr.Name(), run.counters[i+1], one.counters[i+1])
					}
				}
				if run.edgeFigs[0] != one.edgeFigs[0] {
					t.Fatalf("%s: edge figures %+v, one by one %+v", name, run.edgeFigs[0], one.edgeFigs[0])
				}
				if run.busy != one.busy {
					t.Fatalf("%s: busy %d, one by one %d", name, run.busy, one.busy)
				}
				balanced(t, run, name)
				chunkLedger(t, run, name)
				// The share stream's bound (queue.go): at most three chunks
				// beyond the queued bytes, where no message over a chunk
				// cuts the run (those may double them).
				for i, d := range run.groups[0] {
					if x, big := excessChunks(d); !big && x > 3 {
						x1, _ := excessChunks(one.groups[0][i])
						t.Fatalf("%s: member %d (%s) holds %d pooled chunks beyond its queued bytes (one by one: %d)", name, i, members[i].fr.Name(), x, x1)
					}
				}
				chunkLedger(t, one, name+" (one by one)")
			}
		})
	}
}

// probeRun makes a run of 2 to 60 lines of 0 to 400 bytes (some not
// UTF-8, some over a 1-byte header's 255, a few over outChunk), its messages, and a base: 0 as
// this loop's, else as in another loop's batch.
func probeRun(rng *rand.Rand) ([]byte, []batchMsg, int) {
	var data []byte
	var msgs []batchMsg
	base := 0
	if rng.IntN(2) == 0 {
		base = rng.IntN(5000)
	}
	for range 2 + rng.IntN(59) {
		n := []int{0, 5, 63, 200, 300, 400}[rng.IntN(6)]
		if rng.IntN(40) == 0 {
			n = 70000 + rng.IntN(3) // a chunk of its own; over a 2-byte header
		}
		p := bytes.Repeat([]byte{byte('a' + rng.IntN(26))}, n)
		if n > 0 && rng.IntN(8) == 0 {
			p[0] = 0xff
		}
		lo := len(data)
		data = append(append(data, p...), '\n')
		msgs = append(msgs, batchMsg{frID: 0, fr: endpoints.Lines, end: base + len(data), lo: 0, hi: len(data) - 1 - lo})
	}
	return data, msgs, base
}

// excessChunks is how many pooled chunks' worth of memory d's queue holds
// beyond its queued bytes that lie in them: the shared chunks it
// references and its fill. big: it references a chunk over outChunk (one
// message's own).
func excessChunks(d *conn) (excess int, big bool) {
	seen := map[*chunk]bool{}
	bytes := 0
	for i := d.out.head; i < len(d.out.segs); i++ {
		s := d.out.segs[i]
		if cap(s.c.b) != outChunk {
			big = true
			continue
		}
		seen[s.c] = true
		bytes += len(s.b)
	}
	if f := d.out.fill; f != nil {
		seen[f] = true
	}
	return (len(seen)*outChunk - bytes) / outChunk, big
}

// gatedLines is lines framing that refuses payloads over 250 bytes at
// delivery (contract.Gated), as a NATS server's max_payload does.
type gatedLines struct{ contract.Framing }

func (gatedLines) Refuses(size int, _ []byte, _ int) bool { return size > 250 }
