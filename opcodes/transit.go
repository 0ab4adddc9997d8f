package opcodes

import "sync/atomic"

// Mail in transit between loops is bounded. A group message for members on
// another loop waits in that loop's inbox until it runs; a loop that reads
// faster than another delivers (more members there, a costlier framing)
// would queue without bound there, out of reach of every mark. So each
// loop counts the bytes it has posted to each other loop and not yet seen
// taken; past transitHigh, the connections whose messages crossed it stop
// being read (blocked, as under the block policy) until the other loop
// has worked the backlog down to transitLow and says so with one mail.
const (
	transitHigh = 4 << 20
	transitLow  = transitHigh / 2
)

// mailLink is one direction between two loops: what this loop has posted to
// the other and the readers waiting for it to drain.
type mailLink struct {
	bytes     atomic.Int64 // posted, not yet taken
	congested atomic.Bool  // readers wait: tell the sender when below transitLow
	waiters   []connRef    // sender loop only
}

// linkMail tells a loop that its link to loop `to` has drained.
type linkMail struct{ to int }

// posted counts n more bytes on the link to loop i.
func (m *Machine) posted(i, n int) {
	if m.transit[i].bytes.Add(int64(n)) > transitHigh && !m.overLink[i] {
		m.overLink[i] = true
		m.overLinks = append(m.overLinks, i)
	}
}

// holdBack stops c reading while a link its messages crossed is over the
// bound.
func (m *Machine) holdBack(c *conn) {
	for _, i := range m.overLinks {
		m.overLink[i] = false
		l := &m.transit[i]
		if n := len(l.waiters); n == 0 || l.waiters[n-1].c != c || l.waiters[n-1].gen != c.gen {
			l.waiters = append(l.waiters, connRef{c, c.gen})
		}
		c.blocked = true
		l.congested.Store(true)
		// The other loop may have drained it before it saw the flag:
		// look again, or nobody would ever say so.
		if l.bytes.Load() <= transitLow && l.congested.CompareAndSwap(true, false) {
			m.linkDrained(i)
		}
	}
	m.overLinks = m.overLinks[:0]
}

// taken is called by the loop that ran a batch from loop from.
func (m *Machine) taken(from, n int) {
	src := m.rt.machines[from]
	l := &src.transit[m.id]
	if l.bytes.Add(-int64(n)) <= transitLow && l.congested.CompareAndSwap(true, false) {
		src.loop.Post(linkMail{to: m.id}) // refused only once from has finished: nobody waits then
	}
}

// linkDrained lets the readers waiting on the link to loop i read again.
func (m *Machine) linkDrained(i int) {
	m.transit[i].waiters = m.unblock(m.transit[i].waiters)
}

// inTransit is the bytes other loops have posted to this one and it has
// not run yet.
func (rt *Runtime) inTransit(to int) int64 {
	n := int64(0)
	for _, m := range rt.machines {
		if m.id != to {
			n += m.transit[to].bytes.Load()
		}
	}
	return n
}
