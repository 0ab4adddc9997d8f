package opcodes

import (
	"sort"
	"sync"

	"github.com/pxroute/pxroute/contract"
)

// Runs: a read often holds many messages (a 64 KiB read of 64-byte lines
// holds a thousand), and a group send queues each for every member. When
// the reader's program is the plain loop "frame, send to a group, frame
// again", the messages of one read go out as a run: copied once into the
// share stream, and each member's queue takes the whole run with one
// append of segments and its message ends, instead of one delivery per
// message per member. Members of another framing of one part take the
// run encoded once for all of them (batch_encode.go). A member near a
// mark takes the part of the run that fits, and the rest one by one; one
// the run cannot go to at all — multipart, closing, a message its
// framing cannot carry — gets every message one by one: exactly as
// single sends would deliver them.
//
// Runs are of single-part messages: the compiler flags a frame run by the
// shape of its program alone, and frameRun declines a multipart framing
// (its messages go one send each, parts and all), as startStream declines
// a framing whose header does not state a length. A multipart message in
// a batch from another loop is delivered on its own, never in a run.

// frameRun frames the rest of c's read after the message OpFrame has just
// split, for a frame the compiler flagged run (its send goes to a group
// and comes back to it: frame -> send -> frame; Verify checks the shape),
// and sends them all as one run. It reports whether it did; when not, c's
// message is left for send to deliver alone.
func (m *Machine) frameRun(c *conn, frame uint32, send *Inst) bool {
	if len(c.cur) == 0 || c.terms.multi != nil || c.sess != nil {
		return false // a session sees each message: send has them one by one
	}
	e := m.edge(send.Alt)
	if m.rewrites(c, e, c.current()) {
		return false // each message is rewritten with the sender's name, or this one cleaned
	}
	if !m.runnable(send.Arg, e) {
		return false
	}
	msgs := append(m.runMsgs[:0], batchMsg{src: c.ep, group: send.Arg, edge: send.Alt, frID: c.terms.frID, fr: c.terms.fr, end: len(c.msg), lo: c.lo, hi: c.hi})
	size := len(c.msg)
	for len(c.cur) > 0 {
		wire, lo, hi, err := c.terms.fr.Split(c.cur, c.terms.maxFrame)
		if err != nil || wire == 0 {
			break // the next OpFrame deals with it as usual
		}
		if e.Sanitize && needsCleaning(c.cur[lo:hi]) {
			break // the run ends before a message to clean: send cleans it alone
		}
		size += wire
		msgs = append(msgs, batchMsg{src: c.ep, group: send.Arg, edge: send.Alt, frID: c.terms.frID, fr: c.terms.fr, end: size, lo: lo, hi: hi})
		c.cur = c.cur[wire:]
	}
	m.runMsgs = msgs
	k := len(msgs)
	if k == 1 {
		return false
	}
	data := c.msg[:size] // the read's bytes from the first message on
	last := msgs[k-1]
	c.msg, c.lo, c.hi = data[msgs[k-2].end:], last.lo, last.hi
	m.counters[c.ep].MsgsIn += uint64(k - 1) // OpFrame counted the first
	m.ops[OpFrame] += uint64(k - 1)
	m.ops[OpSend] += uint64(k)

	skip := (*conn)(nil)
	if send.Mode == ToOthers {
		skip = c
	}
	n := m.deliverRun(c, skip, send.Arg, send.Alt, c.terms.frID, c.terms.fr, data, 0, msgs)
	n += m.postRun(send.Arg, data, msgs, nil, n)
	m.holdBack(c)
	if n == 0 {
		m.counters[c.ep].Lost[DropNoRoute] += uint64(k)
		m.edgeFigs[send.Alt].Lost[DropNoRoute] += uint64(k)
	}
	c.rpc = send.Out
	return true
}

// runnable reports whether this loop's members of group g take runs: none
// has a topic filter (which picks message by message), and, for a sender
// here (e not nil), none would block it under e (it must stop reading at
// the message that crosses a member's mark, not at the end of the read; a
// run from another loop blocks no sender, see deliver).
func (m *Machine) runnable(g uint32, e *Edge) bool {
	for _, d := range m.groups[g] {
		if d.ro != nil && d.ro.filters != nil {
			return false
		}
		if e == nil {
			continue
		}
		if pol, _ := e.limits(d); pol == contract.PolicyBlock {
			return false
		}
	}
	return true
}

// deliverRun delivers a run of messages to this loop's members of group g
// but skip, as deliverGroup would each, and returns how many members it
// addressed. msgs[i].end - base is where message i ends in data. src is
// nil for a run from another loop; a member with a block policy must then
// not be blocking it (see runnable). Members of another framing of one
// part get the run encoded once for all of them (batch_encode.go).
func (m *Machine) deliverRun(src, skip *conn, g, edge, frID uint32, fr contract.Framing, data []byte, base int, msgs []batchMsg) int {
	members := m.groups[g]
	if len(members) == 0 || (len(members) == 1 && members[0] == skip) {
		return 0
	}
	e, fig := m.edge(edge), &m.edgeFigs[edge]
	maxPayload := 0
	for _, msg := range msgs {
		maxPayload = max(maxPayload, msg.hi-msg.lo)
	}
	// The run is copied to the share stream when a member first takes
	// it: a group all of another framing shares only its encoding, and
	// its queues stay one run of shared bytes.
	copied := false
	others := m.recode.members[:0]
	n := 0
	for _, d := range members {
		if d == skip {
			continue
		}
		n++
		if d.terms.frID != frID && !d.terms.raw && d.terms.multi == nil {
			others = append(others, d)
			continue
		}
		if !copied {
			m.shared.copyRun(&m.chunks, data, base, msgs)
			copied = true
		}
		if j := m.queueRun(d, e, fig, frID, len(data), len(msgs), maxPayload, base, msgs); j < len(msgs) {
			m.deliverEach(src, d, e, fig, frID, fr, data, base, msgs, j)
		}
	}
	if copied {
		m.shared.releaseRun(&m.chunks)
	}
	m.recode.members = others
	m.deliverEncoded(src, e, fig, frID, fr, data, base, msgs, maxPayload)
	return n
}

// deliverEach delivers a run's messages from msgs[j] on to d one by one,
// copied into d's own chunks, exactly as single sends would.
func (m *Machine) deliverEach(src, d *conn, e *Edge, fig *edgeCounters, frID uint32, fr contract.Framing, data []byte, base int, msgs []batchMsg, j int) {
	from := base
	if j > 0 {
		from = msgs[j-1].end
	}
	for _, msg := range msgs[j:] {
		m.deliver(src, d, e, fig, frID, fr, &message{wire: data[from-base : msg.end-base], lo: msg.lo, hi: msg.hi})
		from = msg.end
	}
}

// queueRun queues on d as many of the share stream's run's messages as
// one delivery per message would have queued before the first that meets
// a mark (all of them, mostly), and returns how many. The rest are for
// deliverEach, whose policy sees each. msgs[i].end - base is where
// message i ends in the run.
func (m *Machine) queueRun(d *conn, e *Edge, fig *edgeCounters, frID uint32, size, k, maxPayload, base int, msgs []batchMsg) int {
	if d.closed() || d.failed || d.shut != shutNone || (d.terms.frID != frID && !d.terms.raw) || d.terms.gate != nil || (d.terms.maxOut > 0 && maxPayload > d.terms.maxOut) {
		return 0
	}
	q := d.queued()
	if _, mk := e.limits(d); !mk.admits(d, size, k) {
		// Each message before the first whose prefix meets the mark
		// would pass alone too (admits grows with size and count).
		k = sort.Search(k, func(i int) bool { return !mk.admits(d, msgs[i].end-base, i+1) })
		if k == 0 {
			return 0
		}
		msgs, size = msgs[:k], msgs[k-1].end-base
	}
	if q == 0 {
		m.busy++
	}
	m.shared.queueRun(&m.chunks, &d.out, base, size, msgs)
	ct := &m.counters[d.ep]
	ct.Offered += uint64(k)
	fig.Offered += uint64(k)
	ct.QueuedMsgs += int64(k)
	ct.Queued += int64(size)
	if !d.dirty && !d.sending && !d.connecting() {
		d.dirty = true
		m.dirty = append(m.dirty, d)
	}
	return k
}

// postRun adds a run to this turn's batch for every other loop with
// members in g, and returns how many loops. home is how many members here
// the run reached (each of its messages reached the same). parts holds
// the parts of messages that have several (batchMsg.pa, pz index it).
func (m *Machine) postRun(g uint32, data []byte, msgs []batchMsg, parts []contract.Part, home int) int {
	loops := len(m.rt.machines)
	if loops == 1 {
		return 0
	}
	to := m.postTo[:0]
	for i := range loops {
		if i != m.id && m.rt.members[int(g)*loops+i].Load() > 0 {
			to = append(to, i)
		}
	}
	m.postTo = to
	if len(to) == 0 {
		return 0
	}
	for k := range msgs {
		msgs[k].routed, msgs[k].ticket = newRouting(home, len(to))
	}
	n := 0
	for _, i := range to {
		b := m.outbox[i]
		if b == nil {
			b = batchPool.Get().(*groupBatch)
			b.from = m.id
			m.outbox[i] = b
		}
		base, pbase := len(b.data), len(b.parts)
		b.data = append(b.data, data...)
		b.parts = append(b.parts, parts...)
		m.posted(i, len(data))
		for _, msg := range msgs {
			msg.end += base
			msg.pa, msg.pz = msg.pa+pbase, msg.pz+pbase
			b.msgs = append(b.msgs, msg)
		}
		n++
	}
	return n
}

// mailRuns delivers a batch from another loop: each stretch of messages
// from one sender to one group as a run where this loop's members take
// runs, the rest one by one.
func (m *Machine) mailRuns(v *groupBatch) {
	start := 0
	for i := 0; i < len(v.msgs); {
		first := v.msgs[i]
		j := i + 1
		for j < len(v.msgs) && v.msgs[j].src == first.src && v.msgs[j].group == first.group &&
			v.msgs[j].edge == first.edge && v.msgs[j].frID == first.frID && first.pa == first.pz && v.msgs[j].pa == v.msgs[j].pz {
			j++
		}
		if j-i > 1 && m.runnable(first.group, nil) {
			end := v.msgs[j-1].end
			delivered := m.deliverRun(nil, nil, first.group, first.edge, first.frID, first.fr, v.data[start:end], start, v.msgs[i:j]) > 0
			for k := i; k < j; k++ {
				m.settleRoute(&v.msgs[k], delivered)
			}
			start, i = end, j
			continue
		}
		for ; i < j; i++ {
			msg := v.msgs[i]
			one := message{wire: v.data[start:msg.end], lo: msg.lo, hi: msg.hi}
			if msg.pa < msg.pz {
				one.parts = v.parts[msg.pa:msg.pz]
			}
			m.settleRoute(&v.msgs[i], m.deliverGroup(nil, nil, msg.group, msg.edge, msg.frID, msg.fr, one) > 0)
			m.shared.done()
			start = msg.end
		}
	}
}

// groupBatch carries one turn's messages from one loop to another loop's
// group members. The sender is never on the receiving loop, so "others" is
// "group" there. Batches are recycled through batchPool.
type groupBatch struct {
	from  int    // the loop that posted it
	data  []byte // every message's wire bytes, back to back
	msgs  []batchMsg
	parts []contract.Part // multipart messages' parts, bounds in their own wire
}

type batchMsg struct {
	src, group, frID uint32 // sender's endpoint (charged if nobody is left), group, framing id
	edge             uint32
	fr               contract.Framing
	end              int // data[previous end:end] is this message's wire
	lo, hi           int // payload bounds inside the wire (the first part's)
	pa, pz           int // its batch's parts[pa:pz]; pa == pz: one part, lo:hi
	// Whether it reached anyone on its sender's loop, else how the loops
	// it went to decide no_route (noroute.go).
	routed bool
	ticket *routeTicket
}

var batchPool = sync.Pool{New: func() any { return new(groupBatch) }}
