package opcodes

import (
	"github.com/pxroute/pxroute/completion"
)

// Mail between loops around a stop. Stop acknowledges once every loop has
// stopped reading, and every message a loop framed before its
// acknowledgement was posted ahead of it; a message framed after it is
// counted lost (shutdown) at its source, never posted (see run's OpFrame).
// Should anything still reach a loop that has finished, its inbox is
// closed: what was queued is counted here (Orphan) and what comes later is
// refused to its sender, which counts it (post).

// Orphan accounts for an item that reached this loop's inbox after the
// loop finished.
func (m *Machine) Orphan(v any) {
	switch v := v.(type) {
	case *groupBatch:
		m.lostBatch(v, m.id)
	case *connMail:
		m.refuseAdopted(v)
	case startMail:
		if v.fd >= 0 {
			m.rt.eps[m.inst[v.pc].Arg].Release(v.fd)
		}
		m.rt.liveDone()
	case stopMail:
		v.ack()
	case retireMail:
		v.ack()
	}
	m.publish()
}

// post hands v to loop i, or, if that loop has finished, accounts for it
// here.
func (m *Machine) post(i int, v any) {
	if m.rt.machines[i].loop.Post(v) {
		return
	}
	switch v := v.(type) {
	case *groupBatch:
		m.lostBatch(v, i)
	case *connMail:
		m.refuseAdopted(v)
	}
}

// lostBatch counts a batch's messages lost at their sources: the loop
// their members were on has finished.
func (m *Machine) lostBatch(b *groupBatch, to int) {
	m.rt.machines[b.from].transit[to].bytes.Add(-int64(len(b.data)))
	for _, msg := range b.msgs {
		m.counters[msg.src].Lost[DropShutdown]++
		m.edgeFigs[msg.edge].Lost[DropShutdown]++
	}
	clear(b.msgs)
	b.data, b.msgs, b.parts = b.data[:0], b.msgs[:0], b.parts[:0]
	batchPool.Put(b)
}

// refuseAdopted closes an accepted descriptor no loop will adopt.
func (m *Machine) refuseAdopted(v *connMail) {
	if m.rt.set[v.ep].Admission.MaxConns > 0 {
		m.rt.listenConns[v.ep].Add(-1)
	}
	completion.Close(v.fd)
}

// stop stops accepting and reading; queued output keeps flowing.
func (m *Machine) stop() {
	m.stopping = true
	for _, l := range m.lists {
		if l.fd >= 0 {
			m.port.Cancel(l.fd)
			m.rt.eps[l.ep].Release(l.fd)
			l.fd = -1
			m.rt.liveDone()
		}
	}
}

// closeAll ends the drain: whatever is still queued is dropped as shutdown.
// The loop is done once the writes that were under way have said what they
// wrote (lingerClose).
func (m *Machine) closeAll() {
	m.stop()
	for _, c := range m.conns {
		if c != nil && !c.closed() {
			m.close(c, DropShutdown)
		}
	}
	m.closedAll = true
	m.done = m.lingering == 0
	m.publish()
}
