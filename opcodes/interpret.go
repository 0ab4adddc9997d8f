package opcodes

import (
	"fmt"
	"time"

	"github.com/pxroute/pxroute/completion"
	"golang.org/x/sys/unix"
)

// The interpreters: completeConn hands a connection's finished operation
// to its program; run executes a reader's program until it must wait;
// runWriter keeps a writer's queue moving.

func (m *Machine) completeConn(c *conn, cp *completion.Completion) {
	switch cp.Kind {
	case completion.KindRecv:
		c.recvPending = false
		in := &m.inst[c.rpc]
		if in.Op != OpRecv || c.readDone {
			// The reader moved on (its error handler ran) while the recv
			// was in flight: the bytes have no reader.
			if cp.Buf != nil {
				m.counters[c.ep].BytesIn += uint64(cp.N)
				m.port.Release(cp.Buf)
			}
			return
		}
		switch {
		case c.terms.dgram && (cp.Err == unix.ECONNREFUSED || cp.Err == 0 && cp.N == 0):
			// A connected datagram socket hears of an earlier datagram
			// refused by the peer's host; an empty datagram carries no
			// message. Neither ends the socket: read on.
			if cp.Buf != nil {
				m.port.Release(cp.Buf)
			}
		case cp.Err != 0 && c.kernelTLS() != nil:
			m.kernelRecv(c, cp, in) // a record not of data (secure_kernel.go)
			return
		case cp.Err != 0:
			m.fail(c, DropDisconnect, cp.Err)
			return
		case cp.N == 0 && c.terms.secure != nil:
			m.truncated(c) // an announced end needs no read (secure.go)
			return
		case cp.N == 0 && m.handshakeCut(c):
			return
		case cp.N == 0 && c.terms.ignoreEOF:
			// Its input ended; the peer is not told. It stays open for
			// writing until a write fails, it idles out, or the router
			// stops.
			c.readDone = true
			return
		case cp.N == 0:
			c.rpc = in.Alt
		case c.streamLeft() > 0:
			// The rest of a message being cut through; bytes after its
			// end are framed as usual.
			m.counters[c.ep].BytesIn += uint64(cp.N)
			rest := m.streamRecv(c, cp.Buf.B[:cp.N])
			c.in = append(c.in[:0], rest...)
			c.cur = c.in
			m.port.Release(cp.Buf)
			c.rpc = in.Out
		default:
			m.counters[c.ep].BytesIn += uint64(cp.N)
			if c.terms.idleTimed {
				c.lastIO = time.Now().UnixNano()
			}
			c.stampRead()
			if c.opening() != nil {
				m.unseal(c, cp.Buf.B[:cp.N])
				m.port.Release(cp.Buf)
			} else if len(c.cur) == 0 && len(c.in) == 0 {
				c.cur, c.buf = cp.Buf.B[:cp.N], cp.Buf
			} else {
				m.appendInput(c, cp.Buf.B[:cp.N])
				m.port.Release(cp.Buf)
			}
			c.rpc = in.Out
		}
		m.run(c)
	case completion.KindSpliceIn:
		m.splicedIn(c, cp)
	case completion.KindSpliceOut:
		m.splicedOut(c, cp)
	case completion.KindSend:
		c.sending = false
		if c.terms.dgram && cp.Err == unix.ECONNREFUSED {
			// An earlier datagram was refused; this one was not sent.
			// The error is reported once: send it again.
			cp.Err, cp.N = 0, 0
		}
		if cp.Err == unix.EAGAIN {
			// io_uring's retry of a send on a non-blocking socket can
			// find no room after all (its poll said writable; a peer
			// that half-closed, say): nothing was written, send again.
			cp.Err, cp.N = 0, 0
		}
		if cp.Err != 0 {
			m.fail(c, DropDisconnect, cp.Err)
			return
		}
		c.lastSent = int32(cp.N)
		m.runWriter(c)
	case completion.KindConnect:
		if cp.Err == 0 && c.terms.secure != nil && c.life == connConnecting {
			m.secure(c) // it stays connecting until secured (secure.go)
			return
		}
		if c.life == connConnecting {
			c.life = connLive
		}
		if cp.Err != 0 {
			m.connectFailed(c, cp.Err)
			m.fail(c, DropDisconnect, cp.Err)
			return
		}
		m.connected(c)
		if c.terms.sess == nil {
			c.retry = nil // connected: the next failure starts a new backoff
		} // else once its session's handshake is done (established)
		m.openSession(c)
		m.up(c)
	}
}

// up runs c, whose transport just came up (connected, secured), from
// where its program waited.
func (m *Machine) up(c *conn) {
	m.run(c)
	if (c.queued() > 0 || c.shut != shutNone || c.peerGone) && !c.closed() {
		// What queued meanwhile goes out; a half-close or close its
		// peer asked for while it was connecting happens now, even
		// with nothing queued (a client that hung up at once).
		m.runWriter(c)
	}
	if p := c.peer; p != nil && p.pipeFill() > 0 {
		m.spliceToPeer(p) // bytes spliced before c was connected
	}
}

// run executes c's reader thread from c.rpc until it parks or ends.
func (m *Machine) run(c *conn) {
	if c.closed() {
		return
	}
	if c.connecting() {
		m.prologue(c) // handlers and joins: it queues while it connects
		return
	}
	prev := m.running
	m.running = c
	defer func() { m.running = prev }()
	for {
		if c.closed() {
			return // an op closed it under us (its writer thread, a peer's close)
		}
		if c.failed {
			c.failed = false
			if c.epc == 0 {
				// No handler yet: count the error and close.
				m.counters[c.ep].Errors++
				m.close(c, c.failDrop)
				return
			}
			c.rpc = c.epc
		}
		in := &m.inst[c.rpc]
		m.ops[in.Op]++
		switch in.Op {
		case OpHandle:
			c.epc, c.wpc = in.Arg, in.Alt
			c.rpc = in.Out
		case OpJoin:
			m.join(c, in.Arg, in.Alt)
			c.rpc = in.Out
		case OpDial:
			m.dial(c, in)
			c.rpc = in.Out
		case OpRecv:
			if len(c.cur) > 0 {
				// Bytes nobody framed: keep them with what comes next, up
				// to max_frame, rather than spin on them.
				m.carry(c)
				if len(c.in) > c.terms.maxFrame {
					m.counters[c.ep].Lost[DropMaxFrame]++
					m.fail(c, DropDisconnect, 0)
					continue
				}
			}
			if c.blocked {
				c.parked = true
				return
			}
			if m.stopping || c.recvPending || m.isRetired(c.ep) {
				return
			}
			if k := c.kernelTLS(); k != nil && k.early != nil {
				m.takeKernelEarly(c) // secure_kernel.go
				c.rpc = in.Out
				continue
			}
			if s := c.sess; s != nil && (s.held != nil || s.eof) {
				// Input that needs no read: what a secured conn's
				// handshake read past its end (secure.go), then a fault
				// found after whole messages (seal.go), or the end its
				// peer announced.
				switch {
				case s.held != nil && s.held.early != nil:
					m.takeEarly(c)
					c.rpc = in.Out
				case s.held != nil && s.held.broken != nil:
					m.unsealFailed(c, s.held.broken)
				case c.terms.ignoreEOF:
					c.readDone = true
					return
				default:
					c.rpc = in.Alt
				}
				continue
			}
			if c.streamLeft() > 0 && m.streamSplice(c) {
				return
			}
			if err := m.port.Recv(c.fd, m.tok(c)); err != nil {
				m.fail(c, DropDisconnect, errnoOf(err))
				continue
			}
			c.recvPending = true
			return
		case OpFrame:
			if len(c.cur) == 0 {
				m.releaseInput(c)
				c.rpc = in.Alt
				continue
			}
			if c.blocked {
				c.parked = true
				return
			}
			if s := c.sess; s != nil && !s.done {
				// The session's handshake takes the input first.
				if !m.handshake(c) {
					if !c.failed {
						m.carry(c)
						c.rpc = in.Alt
					}
					continue
				}
				if s.seal != nil && len(c.cur) > 0 {
					if m.unsealRest(c); c.failed {
						continue
					}
				}
				if len(c.cur) == 0 {
					continue
				}
			}
			wire, lo, hi, err := m.split(c)
			if err != nil && c.terms.dgram {
				// One socket hears every sender: drop the datagram, not
				// the socket.
				m.counters[c.ep].Lost[DropMaxFrame]++
				c.cur = nil
				continue
			}
			if err != nil {
				m.counters[c.ep].Lost[DropMaxFrame]++
				m.log.Warn("closing connection", "endpoint", m.prog.Endpoints[c.ep], "reason", err)
				c.cur = nil
				m.fail(c, DropDisconnect, 0)
				continue
			}
			if wire == 0 {
				if c.terms.frameTimed && c.partialAt == 0 {
					c.partialAt = time.Now().UnixNano()
				}
				if c.streamLeft() == 0 && !m.stopping && m.startStream(c, in) {
					c.rpc = in.Alt
					continue
				}
				m.carry(c)
				c.rpc = in.Alt
				continue
			}
			c.msg, c.lo, c.hi = c.cur[:wire], lo, hi
			c.cur = c.cur[wire:]
			c.partialAt = 0
			if c.sess != nil && m.control(c) {
				continue // the session's own: answered, not the program's
			}
			m.counters[c.ep].MsgsIn++
			if m.stopping {
				// Reading stopped with the stop: bytes read since (a recv
				// in flight, a blocked reader's input) are not delivered
				// but counted, at their source. Delivering them could post
				// to a loop that has finished (see stopping.go).
				m.counters[c.ep].Lost[DropShutdown]++
				continue
			}
			if in.Flags&FlagRun != 0 && m.frameRun(c, c.rpc, &m.inst[in.Arg]) {
				continue
			}
			c.rpc = in.Out
		case OpSend:
			m.send(c, in)
			c.rpc = in.Out
		case OpDiscard:
			m.counters[c.ep].Lost[DropNoRoute]++
			c.rpc = in.Out
		case OpShutdown:
			if t := m.target(c, in.Mode); t != nil && !m.deferShut(t) {
				if in.Mode == ToSelf {
					// A member that hangs up takes no new messages; what
					// it was sent goes out whole, then it closes.
					m.leave(t)
				}
				t.askShut()
				m.runWriter(t)
			}
			c.rpc = in.Out
		case OpError:
			m.counters[c.ep].Errors++
			c.rpc = in.Out
		case OpClose:
			m.close(c, DropDisconnect)
			return
		case OpJump:
			c.rpc = in.Out
		case OpSplice:
			if m.splice(c, in) {
				return
			}
		case OpSubscribe:
			m.subscribe(c, in.Arg)
			c.rpc = in.Out
		case OpName:
			m.name(c, in.Arg, in.Alt)
			c.rpc = in.Out
		case OpAnnounce:
			m.announce(c, in.Arg, in.Alt, "joined")
			r := c.roles()
			r.announce = append(r.announce, [2]uint32{in.Arg, in.Alt})
			c.rpc = in.Out
		case OpHalt:
			c.readDone = true
			m.releaseInput(c)
			if c.shut == shutDone || c.peerGone {
				m.close(c, DropDisconnect)
			}
			return
		default:
			panic(fmt.Sprintf("opcodes: pc %d: %v in a reader thread", c.rpc, in.Op))
		}
	}
}

// runWriter executes c's writer thread: after a send completes, or when a
// half-close or a peer's departure asks it to look at its queue.
func (m *Machine) runWriter(c *conn) {
	if c.closed() || c.wpc == 0 {
		return
	}
	pc := c.wpc
	for {
		in := &m.inst[pc]
		m.ops[in.Op]++
		switch in.Op {
		case OpSent:
			m.sent(c)
			if c.closed() {
				return
			}
			pc = in.Out
		case OpDrained:
			if c.queued() == 0 && !c.sending && !c.connecting() && !c.dirty {
				if c.shut == shutWanted && c.sess != nil && m.sayBye(c) {
					// Its last words go before its write side ends:
					// the writer runs again once they are written.
					if c.closed() {
						return
					}
					pc = in.Out
					continue
				}
				if c.shut == shutWanted {
					m.kernelBye(c) // close_notify before the write side ends
					c.shut = shutDone
					if err := completion.Shutdown(c.fd); err != nil && !c.readDone {
						// Not a socket (pipe, file, tty): the only way to
						// say EOF is to close, which ends reading too.
						c.readDone = true
					}
				}
				if c.peerGone || (c.shut == shutDone && c.readDone) {
					m.close(c, DropDisconnect)
					return
				}
			}
			pc = in.Out
		case OpJump:
			pc = in.Out
		case OpHalt:
			return
		case OpClose:
			m.close(c, DropDisconnect)
			return
		default:
			panic(fmt.Sprintf("opcodes: pc %d: %v in a writer thread", pc, in.Op))
		}
	}
}
