package opcodes

import (
	"syscall"

	"github.com/pxroute/pxroute/completion"
)

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
	c.sending, c.life = false, connClosed
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
	if err := m.rt.eps[c.ep].Release(c.fd); err != nil {
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

// freeConn gives c's slot back for reuse. The slot lets go of its
// session: what that holds (a WebSocket message half reassembled, up to
// max_frame) would otherwise stay until the slot's next connection.
func (m *Machine) freeConn(c *conn) {
	m.dropSession(c)
	m.free = append(m.free, c.slot)
	m.rt.liveDone()
}

// fail records an error on c; its reader runs the error handler next.
func (m *Machine) fail(c *conn, drop Drop, err syscall.Errno) {
	if c.closed() || c.failed {
		return
	}
	if err != 0 {
		m.log.Debug("connection error", "endpoint", m.prog.Endpoints[c.ep], "err", err)
	}
	c.failed, c.failDrop = true, drop
	if m.running == c {
		return
	}
	m.doomed = append(m.doomed, c)
}

// settle runs the error handlers of conns that failed while another ran,
// and the readers of senders a drained queue unblocked.
func (m *Machine) settle() {
	for len(m.wake) > 0 {
		w := m.wake[len(m.wake)-1]
		m.wake = m.wake[:len(m.wake)-1]
		if c := w.live(); c != nil && !c.blocked {
			m.run(c)
		}
	}
	for len(m.doomed) > 0 {
		c := m.doomed[len(m.doomed)-1]
		m.doomed = m.doomed[:len(m.doomed)-1]
		if c.closed() {
			continue
		}
		if c.epc == 0 {
			// It failed before its program ran (a refused connect): no
			// handler yet, so count the error here.
			m.counters[c.ep].Errors++
			m.close(c, c.failDrop)
			continue
		}
		if c.life == connConnecting {
			c.life = connLive // a failed connect: its error handler runs
		}
		c.parked, c.recvPending = false, false
		m.run(c)
	}
	if len(m.wake) > 0 {
		m.settle() // error handlers closed conns that others waited on
	}
}

func (m *Machine) close(c *conn, drop Drop) {
	if c.closed() {
		return
	}
	c.cancelSecuring()
	if c.terms.secure != nil {
		m.secureEnded(c)
	}
	if c.sess != nil && c.life == connLive {
		m.byeOnClose(c) // session.go
	}
	if c.kernelTLS() != nil && c.life == connLive {
		m.kernelBye(c) // secure_kernel.go
	}
	if m.suspend(c) {
		return
	}
	c.life = connClosed
	m.streamAborted(c)
	if c.spliceOut() {
		// A splice from c's pipe is pending on the peer's descriptor; only
		// closing the peer cancels it, before c's pipe goes away.
		c.bulk.spliceOut = false
		if p := c.peer; p != nil {
			m.dropPipe(c)
			m.close(p, DropDisconnect)
		}
	}
	if p := c.peer; p != nil && (p.spliceOut() || p.pipeFill() > 0) {
		// The peer's splice into c is cancelled with c's descriptor; what
		// its pipe holds (spliced in while c was still connecting, say)
		// was c's and is lost with it. No splice into the pipe is in
		// flight: the next waits for an empty pipe.
		p.bulk.spliceOut = false
		m.dropPipe(p)
	}
	m.dropPipe(c)
	if c.fd >= 0 && c.sending && m.port.Abort(c.fd, m.tok(c)) {
		// A write under way may have reached the peer: its completion
		// says how much (lingerClose), then the rest is counted dropped.
		c.life, c.lingerDrop = connLingering, drop
		m.lingering++
	} else {
		if c.fd >= 0 { // -1: down, waiting to reconnect
			m.port.Cancel(c.fd)
		}
		m.closeFD(c)
		m.dropQueue(c, drop)
	}
	m.releaseInput(c)
	c.in, c.msg = nil, nil
	m.leave(c)
	if r := c.ro; r != nil {
		if c.atClose&FlagAnnounce != 0 && !m.stopping {
			for _, a := range r.announce {
				m.announce(c, a[0], a[1], "left")
			}
		}
		m.releaseName(c)
		if c.atClose&FlagRequests != 0 {
			m.requestsLost(c, 0)
			m.dropHeld(c)
		}
		c.ro = nil
	}
	// Senders blocked on c go on: their next message finds c gone. Its
	// peer is not one of them; it follows c out once drained (below).
	if c.waits != nil {
		for i, w := range c.waits.refs {
			if w.c == c.peer {
				c.waits.refs[i] = connRef{}
			}
		}
	}
	m.wakeAll(c)
	c.blocked = false
	if p := c.peer; p != nil {
		c.peer, p.peer = nil, nil
		if c.atClose&FlagPeer != 0 {
			p.peerGone = true
			p.askShut()
			p.parked, p.blocked = false, false
			m.runWriter(p)
		}
	}
	if c.counted {
		m.rt.listenConns[c.ep].Add(-1)
	}
	m.log.Debug("closed", "endpoint", m.prog.Endpoints[c.ep])
	if c.life != connLingering {
		m.freeConn(c)
	}
}
