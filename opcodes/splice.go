package opcodes

import (
	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/completion"
)

// pipeSize is asked of each splice pipe: a larger pipe moves more per
// round trip. The kernel may refuse (fs.pipe-user-pages-soft caps what one
// user's pipes may hold), and then the default 64KiB serves.
const pipeSize = 1 << 20

// splice runs OpSplice for c; it reports whether c parked.
func (m *Machine) splice(c *conn, in *Inst) (parked bool) {
	c.bulkState()
	if m.awaitSecuredPeer(c) {
		return true
	}
	switch {
	case c.bulk.noSplice || c.peer == nil || len(c.cur) > 0 || c.sess != nil || c.peer.sess != nil ||
		c.sealsOnLoop() || c.peer.sealsOnLoop():
		// A secured conn has no session until its handshake is done:
		// splicing meanwhile would put plaintext on its wire. Once the
		// kernel seals its records (kernel TLS) it splices as plain TCP.
		c.rpc = in.Arg // copy through user space instead
		return false
	case c.bulk.pipeFill > 0 || c.bulk.spliceOut || c.recvPending || m.stopping || m.isRetired(c.ep):
		return true // the splice-out completion (or nothing, when stopping) resumes it
	}
	if !m.openPipe(c) {
		c.rpc = in.Arg
		return false
	}
	if c.kernelTLS() != nil && c.kernelTLS().early != nil {
		return m.spliceKernelEarly(c, in) // secure_kernel.go
	}
	if err := m.port.SpliceIn(c.fd, c.bulk.pipe[1], c.bulk.pipeCap, m.tok(c)); err != nil {
		m.fail(c, DropDisconnect, errnoOf(err))
		return false
	}
	c.recvPending = true
	return true
}

// openPipe gives c its splice pipe, unless it has one; it reports false
// (and c copies from then on) when the pipe cannot be made.
func (m *Machine) openPipe(c *conn) bool {
	b := c.bulkState()
	if b.havePipe {
		return true
	}
	if err := unix.Pipe2(b.pipe[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		b.noSplice = true // out of descriptors, say: copying still works
		return false
	}
	size, err := unix.FcntlInt(uintptr(b.pipe[1]), unix.F_SETPIPE_SZ, pipeSize)
	if err != nil {
		size = 64 << 10 // the default capacity
	}
	b.pipeCap = size
	b.havePipe = true
	return true
}

// splicedIn handles bytes (or the end) arriving in c's pipe.
func (m *Machine) splicedIn(c *conn, cp *completion.Completion) {
	if c.bulk.streamIn {
		m.streamSplicedIn(c, cp)
		return
	}
	c.recvPending = false
	in := &m.inst[c.rpc]
	if in.Op != OpSplice || c.readDone {
		// The reader moved on while the splice was in flight.
		if cp.N > 0 {
			m.counters[c.ep].BytesIn += uint64(cp.N)
			m.counters[c.ep].Lost[DropDisconnect]++
			m.closePipe(c)
		}
		return
	}
	switch {
	case cp.Err != 0 && c.kernelTLS() != nil:
		m.kernelSplicedIn(c, cp.Err, in) // a record not of data (secure_kernel.go)
		return
	case cp.Err == unix.EINVAL || cp.Err == unix.ENOSYS:
		c.bulk.noSplice = true // this pair of descriptors cannot splice
	case cp.N == 0 && c.kernelTLS() != nil:
		m.truncated(c) // close_notify comes as a record, read above
	case cp.Err != 0:
		m.fail(c, DropDisconnect, cp.Err)
		return
	case cp.N == 0 && c.terms.ignoreEOF:
		c.readDone = true // as in a recv: the peer is not told
		return
	case cp.N == 0:
		c.rpc = in.Alt
	default:
		m.counters[c.ep].BytesIn += uint64(cp.N)
		m.counters[c.ep].MsgsIn++
		p := c.peer
		if p == nil || p.closed() {
			m.counters[c.ep].Lost[DropDisconnect]++
			m.closePipe(c) // the bytes in it have nowhere to go
			break
		}
		c.bulk.pipeFill, c.bulk.pipeTo = cp.N, p.ep
		m.busy++
		m.counters[p.ep].Queued += int64(cp.N)
		m.counters[p.ep].QueuedMsgs++
		m.counters[p.ep].Offered++
		m.spliceToPeer(c)
		return
	}
	m.run(c)
}

// spliceToPeer moves what is in c's pipe to c's peer, once the peer can
// take writes.
func (m *Machine) spliceToPeer(c *conn) {
	p := c.peer
	if c.bulk.spliceOut || c.bulk.pipeFill == 0 || p == nil || p.connecting() || p.sending {
		return // p's connect or send completion calls back here
	}
	if p.sealsOnLoop() {
		// p reconnected and its records are sealed on the loop this
		// time (kernel TLS took the last connection, not this one):
		// plaintext in the pipe must not reach its wire raw. Lost with
		// the connection it was spliced for; c copies from now on.
		m.dropPipe(c)
		m.wake = append(m.wake, connRef{c: c, gen: c.gen})
		return
	}
	if err := m.port.SpliceOut(c.bulk.pipe[0], p.fd, c.bulk.pipeFill, m.tok(c)); err != nil {
		m.fail(p, DropDisconnect, errnoOf(err))
		return
	}
	c.bulk.spliceOut = true
}

// splicedOut handles bytes that left c's pipe for c's peer.
func (m *Machine) splicedOut(c *conn, cp *completion.Completion) {
	if c.bulk.pipeStream {
		m.streamSplicedOut(c, cp)
		return
	}
	c.bulk.spliceOut = false
	p := c.peer
	if p == nil {
		return // the peer closed meanwhile; close(p) settled the pipe
	}
	if cp.Err != 0 || cp.N <= 0 {
		m.dropPipe(c)
		m.fail(p, DropDisconnect, cp.Err)
		return
	}
	m.counters[p.ep].BytesOut += uint64(cp.N)
	m.counters[p.ep].Queued -= int64(cp.N)
	c.bulk.pipeFill -= cp.N
	if c.bulk.pipeFill > 0 {
		m.spliceToPeer(c)
		return
	}
	m.counters[p.ep].MsgsOut++
	m.counters[p.ep].QueuedMsgs--
	m.busy--
	m.run(c) // the pipe is empty: read the next chunk
}

// dropPipe counts what is stranded in c's pipe as lost to c's peer and
// closes the pipe.
func (m *Machine) dropPipe(c *conn) {
	if c.bulk == nil {
		return
	}
	if c.bulk.pipeFill > 0 && c.bulk.pipeStream {
		m.dropStreamPipe(c)
	}
	if c.bulk.pipeFill > 0 {
		ep := c.bulk.pipeTo // offered there, whether or not the peer is still there
		m.counters[ep].Drops[DropDisconnect]++
		m.counters[ep].Queued -= int64(c.bulk.pipeFill)
		m.counters[ep].QueuedMsgs--
		m.busy--
		c.bulk.pipeFill = 0
	}
	m.closePipe(c)
}

func (m *Machine) closePipe(c *conn) {
	if c.bulk != nil && c.bulk.havePipe {
		unix.Close(c.bulk.pipe[0])
		unix.Close(c.bulk.pipe[1])
		c.bulk.havePipe = false
	}
}
