package opcodes

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints"
)

// runMember is one group member of a run test: its framing (a frID
// shared by equal names), its marks, and what its queue holds before the
// run (bytes, and how many of them a write in flight has taken).
type runMember struct {
	fr            contract.Framing
	frID          uint32
	hwm, hwmMsgs  int
	queued, fly   int
	policy        contract.Policy
	closed, multi bool
}

// runMachine makes a machine whose group 0 is members (endpoint i+1
// each), the source endpoint 0 reading lines.
func runMachine(t *testing.T, members []runMember) (*Machine, *conn) {
	t.Helper()
	m := &Machine{prog: &Prog{Edges: []Edge{testDropEdge}}, counters: make([]epCounters, len(members)+1), edgeFigs: make([]edgeCounters, 1), chunks: chunkPool{max: 64}, groups: make([][]*conn, 1)}
	src := &conn{ep: 0, terms: &terms{fr: endpoints.Lines, frID: 0, maxFrame: 1 << 20}}
	for i, mb := range members {
		to := &terms{fr: mb.fr, frID: mb.frID, raw: !mb.fr.Boundaries(), maxFrame: 1 << 20, hwm: mb.hwm, hwmMsgs: mb.hwmMsgs, policy: mb.policy}
		if cp, ok := mb.fr.(contract.Capped); ok {
			to.maxOut = cp.MaxPayload()
		}
		if mb.multi {
			to.multi = twoByteParts{}
		}
		// Every member has a send under way (none of it, for an empty
		// queue, is queued bytes): a mark crossed writes nothing inline,
		// as this machine has no sockets.
		d := &conn{ep: uint32(i + 1), terms: to, dirty: true, sending: true}
		if mb.queued > 0 {
			// A slow subscriber: earlier messages queued, a write under way.
			for k := 0; k < mb.queued; k += 50 {
				d.out.push(&m.chunks, [][]byte{bytes.Repeat([]byte{'q'}, min(50, mb.queued-k))})
				m.counters[d.ep].QueuedMsgs++
			}
			m.counters[d.ep].Queued = int64(mb.queued)
			d.inflight = mb.fly
			m.busy++
		}
		if mb.closed {
			d.life = connLingering
		}
		m.groups[0] = append(m.groups[0], d)
	}
	return m, src
}

// splitRun frames data as frameRun does, into the run's messages, their
// ends counted from base.
func splitRun(t *testing.T, data []byte, base int) []batchMsg {
	t.Helper()
	var msgs []batchMsg
	for at := 0; at < len(data); {
		wire, lo, hi, err := endpoints.Lines.Split(data[at:], 1<<20)
		if err != nil || wire == 0 {
			t.Fatalf("test data does not split at %d: %v", at, err)
		}
		at += wire
		msgs = append(msgs, batchMsg{frID: 0, fr: endpoints.Lines, end: base + at, lo: lo, hi: hi})
	}
	return msgs
}

// queuedOf is everything d's queue holds, front to back, and where its
// messages end.
func queuedOf(d *conn) ([]byte, []int) {
	var b []byte
	for i := d.out.head; i < len(d.out.segs); i++ {
		b = append(b, d.out.segs[i].b...)
	}
	ends := append([]int(nil), d.out.live()...)
	for i := range ends {
		ends[i] -= d.out.written
	}
	return b, ends
}

// TestDeliverRunMatchesOneByOne: a run of lines delivered to a group of
// mixed framings (lines, raw, websocket text and binary, a delimiter,
// length-prefix with a 1-byte header that cannot carry one of them, a multipart
// framing, a closed member) leaves every member's queue byte for byte,
// every message end, every endpoint counter, the edge's figures and the
// loop's busy count exactly as delivering the messages one at a time
// does — members with room, and slow ones (a write in flight, earlier
// messages queued) that cross their byte or message marks partway under
// drop-newest and drop-oldest; from this loop and from another's batch.
func TestDeliverRunMatchesOneByOne(t *testing.T) {
	wsText, _ := endpoints.FramingByName("websocket")
	lp1, err := endpoints.NewLengthPrefix(1, false, false)
	if err != nil {
		t.Fatal(err)
	}
	crlf, err := endpoints.NewDelimiter([]byte("\r\n"), false)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for i := range 40 {
		p := bytes.Repeat([]byte{byte('a' + i%26)}, []int{63, 10, 0, 120}[i%4])
		switch i {
		case 7:
			p = []byte("not utf-8 \xff\xfe: a text frame cannot carry it")
		case 21:
			p = bytes.Repeat([]byte{'L'}, 300) // over lp1's 255
		}
		lines = append(lines, append(p, '\n'))
	}
	data := bytes.Join(lines, nil)

	roomy, tight := 1<<20, 1500
	mixed := func(pol contract.Policy, hwm, hwmMsgs, queued, fly int) []runMember {
		return []runMember{
			{fr: endpoints.Lines, frID: 0, hwm: hwm, hwmMsgs: hwmMsgs, queued: queued, fly: fly, policy: pol},
			{fr: endpoints.Raw, frID: 1, hwm: hwm, hwmMsgs: hwmMsgs, queued: queued, fly: fly, policy: pol},
			{fr: wsText, frID: 2, hwm: hwm, hwmMsgs: hwmMsgs, queued: queued, fly: fly, policy: pol},
			{fr: wsBinary(t), frID: 3, hwm: hwm, hwmMsgs: hwmMsgs, queued: queued, fly: fly, policy: pol},
			{fr: wsBinary(t), frID: 3, hwm: roomy, policy: pol},
			{fr: lp1, frID: 4, hwm: hwm, hwmMsgs: hwmMsgs, queued: queued, fly: fly, policy: pol},
			{fr: crlf, frID: 6, hwm: hwm, hwmMsgs: hwmMsgs, queued: queued, fly: fly, policy: pol},
			{fr: twoByteParts{}, frID: 5, hwm: hwm, multi: true, policy: pol},
			{fr: wsText, frID: 2, hwm: roomy, closed: true, policy: pol},
		}
	}
	cases := []struct {
		name    string
		members []runMember
	}{
		{"all-have-room", mixed(contract.PolicyDropNewest, roomy, 0, 0, 0)},
		{"empty-queues-under-a-mark-the-run-crosses/drop-newest", mixed(contract.PolicyDropNewest, tight, 0, 0, 0)},
		{"slow-subscribers-cross-the-byte-mark/drop-newest", mixed(contract.PolicyDropNewest, tight, 0, 900, 120)},
		{"slow-subscribers-cross-the-byte-mark/drop-oldest", mixed(contract.PolicyDropOldest, tight, 0, 900, 120)},
		{"slow-subscribers-cross-the-message-mark/drop-newest", mixed(contract.PolicyDropNewest, roomy, 25, 600, 75)},
		{"slow-subscribers-cross-the-message-mark/drop-oldest", mixed(contract.PolicyDropOldest, roomy, 25, 600, 75)},
		{"slow-subscribers-with-room/drop-oldest", mixed(contract.PolicyDropOldest, roomy, 0, 900, 120)},
	}
	for _, tc := range cases {
		for _, from := range []struct {
			name string
			base int
		}{{"from-this-loop", 0}, {"from-another-loop", 37}} {
			t.Run(tc.name+"/"+from.name, func(t *testing.T) {
				run, src := runMachine(t, tc.members)
				one, _ := runMachine(t, tc.members)
				sender := src
				if from.base > 0 {
					sender = nil // another loop's batch has no sender here
				}
				msgs := splitRun(t, data, from.base)
				n := run.deliverRun(sender, nil, 0, 0, 0, endpoints.Lines, data, from.base, msgs)
				if n != len(tc.members) {
					t.Fatalf("deliverRun addressed %d members, want %d", n, len(tc.members))
				}
				start := from.base
				for _, msg := range msgs {
					wire := data[start-from.base : msg.end-from.base]
					if sender == nil {
						one.deliverGroup(nil, nil, 0, 0, 0, endpoints.Lines, message{wire: wire, lo: msg.lo, hi: msg.hi})
					} else {
						one.deliverGroup(src, nil, 0, 0, 0, endpoints.Lines, message{wire: wire, lo: msg.lo, hi: msg.hi})
					}
					one.shared.done()
					start = msg.end
				}
				for i := range tc.members {
					got, gotEnds := queuedOf(run.groups[0][i])
					want, wantEnds := queuedOf(one.groups[0][i])
					if !bytes.Equal(got, want) {
						t.Errorf("member %d (%s): queued %d bytes %q..., one by one %d bytes %q...", i, tc.members[i].fr.Name(), len(got), head(got), len(want), head(want))
					}
					if !reflect.DeepEqual(gotEnds, wantEnds) {
						t.Errorf("member %d (%s): message ends %v, one by one %v", i, tc.members[i].fr.Name(), gotEnds, wantEnds)
					}
					if run.counters[i+1] != one.counters[i+1] {
						t.Errorf("member %d (%s): counters\n%+v\none by one\n%+v", i, tc.members[i].fr.Name(), run.counters[i+1], one.counters[i+1])
					}
				}
				if run.edgeFigs[0] != one.edgeFigs[0] {
					t.Errorf("edge figures %+v, one by one %+v", run.edgeFigs[0], one.edgeFigs[0])
				}
				if run.busy != one.busy {
					t.Errorf("busy %d, one by one %d", run.busy, one.busy)
				}
				// Everything written, the run's shared chunks go back
				// to the pool: no reference is left behind.
				for _, d := range run.groups[0] {
					d.sending, d.inflight = false, 0
					d.out.consume(&run.chunks, d.out.len())
					d.out.compact(&run.chunks)
				}
				if f := run.shared.fill; f != nil && f.refs != 1 {
					t.Errorf("the share stream's chunk has %d references once every queue is written, want the stream's own", f.refs)
				}
			})
		}
	}
}

func wsBinary(t *testing.T) contract.Framing {
	t.Helper()
	e, err := endpoints.New("tcp", map[string]any{"listen": "127.0.0.1:0", "framing": "websocket", "message": "binary"})
	if err != nil {
		t.Fatal(err)
	}
	return e.Settings().Framing
}

func head(b []byte) string { return fmt.Sprintf("%.40q", b) }
