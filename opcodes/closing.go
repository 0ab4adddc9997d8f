package opcodes

import "github.com/pxroute/pxroute/completion"

// Closing a connection with a write under way. The write may already have
// put some of its bytes on the wire (io_uring runs it in the kernel; epoll
// may have written it and not yet handed out its completion), and those
// messages reached the peer: counting them dropped would be false, and a
// message cut short there was not delivered. So the conn lingers, closed
// to everything else (it left its groups, its peer was told, nothing new
// queues on it), with its descriptor open until the write completes; then
// what the write finished counts delivered and the rest of the queue
// dropped, for the reason the close gave.

// lingerClose finishes the close of c once its write has completed.
func (m *Machine) lingerClose(c *conn, cp *completion.Completion) {
	if cp.Kind != completion.KindSend {
		if cp.Buf != nil {
			m.port.Release(cp.Buf) // a read the cancel did not stop in time
		}
		return
	}
	had := c.queued() > 0
	if cp.Err == 0 {
		m.wrote(c, cp.N)
	}
	if had && c.queued() == 0 {
		m.busy--
	}
	c.sending, c.lingering = false, false
	m.lingering--
	m.closeFD(c)
	m.dropQueue(c, c.lingerDrop)
	m.freeConn(c)
	if m.closedAll && m.lingering == 0 {
		m.done = true
		m.publish()
	}
}

// closeFD gives c's descriptor back, if it has one (a conn waiting to
// reconnect has none).
func (m *Machine) closeFD(c *conn) {
	if c.fd < 0 {
		return
	}
	if err := c.endpoint.Release(c.fd); err != nil {
		m.log.Debug("close", "endpoint", m.prog.Endpoints[c.ep], "err", err)
	}
	m.counters[c.ep].Closed++
	m.active[c.ep]--
}

// dropQueue counts what is still queued for c as dropped and empties the
// queue.
func (m *Machine) dropQueue(c *conn, drop Drop) {
	if c.queued() > 0 {
		m.busy--
	}
	m.counters[c.ep].Drops[drop] += uint64(c.out.msgs())
	m.counters[c.ep].QueuedMsgs -= int64(c.out.msgs())
	m.counters[c.ep].Queued -= int64(c.queued())
	c.out.reset(&m.chunks, c.sending) // a write in flight may still read the chunks
	c.iovs = nil
}

// freeConn gives c's slot back for reuse.
func (m *Machine) freeConn(c *conn) {
	m.free = append(m.free, c.slot)
	m.rt.liveDone()
}
