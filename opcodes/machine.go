package opcodes

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/completion"
)

// Token layout: low 32 bits a slot, next 24 a generation, top byte a tag.
const (
	tagConn      = 0
	tagListener  = 1
	tagReopen    = 2
	tagDrain     = 3
	tagAccept    = 4 // resume an accept paused by EMFILE
	tagReconnect = 5 // bring a lost connect endpoint back
	tagIdle      = 6 // look for idle connections
	tagRetire    = 7 // a retirement's drain deadline
	tagReplies   = 8 // look for requests past their reply_timeout
)

func token(tag uint8, gen, slot uint32) uint64 {
	return uint64(tag)<<56 | uint64(gen&0xffffff)<<32 | uint64(slot)
}

func untoken(t uint64) (tag uint8, gen, slot uint32) {
	return uint8(t >> 56), uint32(t>>32) & 0xffffff, uint32(t)
}

// Machine runs the program on one loop: it owns the loop's connections,
// listeners and counters, and executes instructions in one switch.
type Machine struct {
	rt    *Runtime
	id    int
	loop  *completion.Loop
	port  completion.Port
	prog  *Prog
	inst  []Inst
	log   *slog.Logger
	conns []*conn
	free  []uint32
	lists []*listener
	// groups holds this loop's members of each group.
	groups  [][]*conn
	doomed  []*conn
	outbox  []*groupBatch // per loop: messages for its members, posted in Turn
	dirty   []*conn       // conns queued to this turn, flushed once each in Turn
	parts   [3][]byte
	blocks  [][]byte  // scratch: the blocks of an inline write
	chunks  chunkPool // output blocks for this loop's conns
	hdr     [8]byte
	iov     []unix.Iovec
	running *conn
	wake    []connRef // blocked senders to run again, in settle
	cursor  []int     // per group: the next member a round robin tries

	fanning   bool        // a group send is delivering
	shared    shareStream // its message, copied once for every queue
	runMsgs   []batchMsg  // scratch: the messages of a run
	oneMsg    [1]batchMsg // scratch: a single message posted to other loops
	postTo    []int       // scratch: the loops a run goes to
	transit   []mailLink  // per other loop: mail in transit (transit.go)
	overLink  []bool      // per loop: in overLinks
	overLinks []int       // links this send took over transitHigh
	named     []byte      // scratch: "<name> payload"
	prefixBuf []byte      // scratch: that, framed
	spareIn   []byte      // a carry buffer given back, for the next to grow (input.go)

	ops      [NumOps]uint64
	counters []epCounters
	// What publish stored last, to skip unchanged atomics.
	lastOps      [NumOps]uint64
	lastCounters []epCounters
	lastActive   []int64
	pub          *machinePub
	active       []int64 // per endpoint

	reopenWait map[uint32]*completion.BackoffState // start pc -> its retry schedule
	links      []link                              // per endpoint: connect episodes (connecting.go)
	idleEvery  time.Duration                       // the idle sweep's period; 0: none
	retired    []bool                              // endpoints a reload retired; nil: none
	retiring   []*conn                             // their conns, closing once drained
	req        requestState                        // request/reply: held requests, the reply_timeout sweep
	stopping   bool
	finishing  bool
	closedAll  bool // closeAll ran: done once nothing lingers
	done       bool
	lingering  int // closed conns waiting for a write's completion (lingerClose)
	busy       int // conns with queued output
}

type listener struct {
	pc    uint32
	ep    uint32
	fd    int
	next  int  // round-robin cursor over loops
	pause bool // in an episode of failed accepts (EMFILE): retried on a timer
	// admission: the endpoint's limits, and the accept-rate bucket
	adm      Admission
	tokens   float64
	filled   time.Time
	refusing bool // in an episode of refusals: logged once
}

type machinePub struct {
	ops    [NumOps]atomic.Uint64
	eps    []epPublished
	active []atomic.Int64
	conns  atomic.Int64
}

// groupBatch carries one turn's messages from one loop to another loop's
// group members. The sender is never on the receiving loop, so "others" is
// "group" there. Batches are recycled through batchPool.
type groupBatch struct {
	from int    // the loop that posted it
	data []byte // every message's wire bytes, back to back
	msgs []batchMsg
}

type batchMsg struct {
	src, group, frID uint32 // sender's endpoint (charged if nobody is left), group, framing id
	edge             uint32
	fr               Framing
	end              int // data[previous end:end] is this message's wire
	lo, hi           int // payload bounds inside the wire
	// Whether it reached anyone on its sender's loop, else how the loops
	// it went to decide no_route (noroute.go).
	routed bool
	ticket *routeTicket
}

var batchPool = sync.Pool{New: func() any { return new(groupBatch) }}

// startMail runs a start thread; fd is a descriptor Runtime.Start opened
// already, or -1.
type startMail struct {
	pc  uint32
	fd  int
	ack func() // called once it has run; nil: none
}

// connMail hands an accepted descriptor to the loop that will own it.
type connMail struct {
	fd int
	ep uint32
	pc uint32
}

type stopMail struct{ ack func() }
type finishMail struct{ deadline time.Duration }

func (m *Machine) Done() bool { return m.done }

// Mail handles an item from the loop's inbox.
func (m *Machine) Mail(v any) {
	switch v := v.(type) {
	case *groupBatch:
		m.mailRuns(v)
		m.taken(v.from, len(v.data))
		clear(v.msgs) // drop Framing references before pooling
		v.data, v.msgs = v.data[:0], v.msgs[:0]
		batchPool.Put(v)
	case *connMail:
		m.adopt(v.fd, v.ep, v.pc)
	case startMail:
		m.exec(v.pc, v.fd)
		m.rt.liveDone() // the placeholder Start counted for this thread
		if v.ack != nil {
			v.ack()
		}
	case stopMail:
		m.stop()
		// What this loop produced so far must be in the other inboxes
		// before it says it has stopped (see Runtime.Stop).
		m.postBatches()
		v.ack()
	case retireMail:
		m.retire(v)
	case linkMail:
		m.linkDrained(v.to)
	case finishMail:
		m.finishing = true
		m.port.After(v.deadline, token(tagDrain, 0, 0))
	default:
		panic(fmt.Sprintf("opcodes: unexpected mail %T", v))
	}
	m.settle()
}

// Complete handles one finished operation.
func (m *Machine) Complete(cp *completion.Completion) {
	tag, gen, slot := untoken(cp.Token)
	switch tag {
	case tagConn:
		c := m.lookup(slot, gen)
		if c != nil && c.lingering {
			m.lingerClose(c, cp)
			break
		}
		if c == nil {
			if cp.Buf != nil {
				m.port.Release(cp.Buf)
			}
			if cp.Kind == completion.KindAccept && cp.Err == 0 {
				unix.Close(cp.N)
			}
			break
		}
		m.completeConn(c, cp)
	case tagListener:
		m.accepted(slot, cp)
	case tagAccept:
		if int(slot) < len(m.lists) && m.lists[slot].fd >= 0 {
			m.armAccept(slot) // try again; the episode lasts until one succeeds
		}
	case tagReopen:
		if !m.stopping && !m.isRetired(m.inst[slot].Arg) {
			m.exec(slot, -1)
		}
		m.rt.liveDone() // the placeholder reopenLater counted
	case tagIdle:
		m.sweepIdle()
	case tagReplies:
		m.sweepReplies()
	case tagRetire:
		m.finishRetiring(true)
	case tagReconnect:
		// A retired endpoint stays down: its queue waits for the drain
		// deadline.
		if c := m.lookup(slot, gen); c != nil && c.down && !c.closed && !m.isRetired(c.ep) {
			m.reconnect(c)
		}
	case tagDrain:
		if !m.closedAll {
			m.closeAll()
		}
	}
	m.settle()
}

// Turn runs once after each batch: flush what the batch queued, publish
// counters, finish a drain.
func (m *Machine) Turn() {
	// Error handlers can queue more (a peer told of a close), and flushes
	// can fail conns: repeat until neither has work, so nothing queued is
	// left unflushed while the loop sleeps.
	for len(m.dirty) > 0 || len(m.doomed) > 0 || len(m.wake) > 0 {
		m.flushDirty()
		m.settle()
	}
	m.postBatches()
	if len(m.retiring) > 0 {
		m.finishRetiring(false)
	}
	if m.finishing && !m.closedAll && m.busy == 0 {
		m.closeAll()
	}
	m.publish()
}

func (m *Machine) lookup(slot, gen uint32) *conn {
	if int(slot) >= len(m.conns) {
		return nil
	}
	c := m.conns[slot]
	if c == nil || c.gen&0xffffff != gen {
		return nil
	}
	return c
}

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
		case c.dgram && (cp.Err == unix.ECONNREFUSED || cp.Err == 0 && cp.N == 0):
			// A connected datagram socket hears of an earlier datagram
			// refused by the peer's host; an empty datagram carries no
			// message. Neither ends the socket: read on.
			if cp.Buf != nil {
				m.port.Release(cp.Buf)
			}
		case cp.Err != 0:
			m.fail(c, DropDisconnect, cp.Err)
			return
		case cp.N == 0 && c.ignoreEOF:
			// Its input ended; the peer is not told. It stays open for
			// writing until a write fails, it idles out, or the router
			// stops.
			c.readDone = true
			return
		case cp.N == 0:
			c.rpc = in.Alt
		case c.streamLeft > 0:
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
			if c.idleTimed {
				c.lastIO = time.Now().UnixNano()
			}
			if len(c.cur) == 0 && len(c.in) == 0 {
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
		if c.dgram && cp.Err == unix.ECONNREFUSED {
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
		c.lastSent = cp.N
		m.runWriter(c)
	case completion.KindConnect:
		c.connecting = false
		if cp.Err != 0 {
			m.connectFailed(c, cp.Err)
			m.fail(c, DropDisconnect, cp.Err)
			return
		}
		m.connected(c)
		c.retry.Reset()
		m.run(c)
		if (c.queued() > 0 || c.wantShut || c.peerGone) && !c.closed {
			// What queued meanwhile goes out; a half-close or close its
			// peer asked for while it was connecting happens now, even
			// with nothing queued (a client that hung up at once).
			m.runWriter(c)
		}
		if p := c.peer; p != nil && p.pipeFill() > 0 {
			m.spliceToPeer(p) // bytes spliced before c was connected
		}
	}
}

// run executes c's reader thread from c.rpc until it parks or ends.
func (m *Machine) run(c *conn) {
	if c.closed {
		return
	}
	if c.connecting {
		m.prologue(c) // handlers and joins: it queues while it connects
		return
	}
	prev := m.running
	m.running = c
	defer func() { m.running = prev }()
	for {
		if c.closed {
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
				if len(c.in) > c.maxFrame {
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
			if c.streamLeft > 0 && m.streamSplice(c) {
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
			wire, lo, hi, err := m.split(c)
			if err != nil && c.dgram {
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
				if c.frameTimed && c.partialAt == 0 {
					c.partialAt = time.Now().UnixNano()
				}
				if c.streamLeft == 0 && !m.stopping && m.startStream(c, in) {
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
			m.counters[c.ep].MsgsIn++
			if m.stopping {
				// Reading stopped with the stop: bytes read since (a recv
				// in flight, a blocked reader's input) are not delivered
				// but counted, at their source. Delivering them could post
				// to a loop that has finished (see orphan.go).
				m.counters[c.ep].Lost[DropShutdown]++
				continue
			}
			if m.inst[in.Out].Op == OpSend && m.frameRun(c, c.rpc, &m.inst[in.Out]) {
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
				t.wantShut = true
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
			if c.writeShut || c.peerGone {
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
	if c.closed || c.wpc == 0 {
		return
	}
	pc := c.wpc
	for {
		in := &m.inst[pc]
		m.ops[in.Op]++
		switch in.Op {
		case OpSent:
			m.sent(c)
			if c.closed {
				return
			}
			pc = in.Out
		case OpDrained:
			if c.queued() == 0 && !c.sending && !c.connecting && !c.dirty {
				if c.wantShut && !c.writeShut {
					c.writeShut = true
					if err := unix.Shutdown(c.fd, unix.SHUT_WR); err != nil && !c.readDone {
						// Not a socket (pipe, file, tty): the only way to
						// say EOF is to close, which ends reading too.
						c.readDone = true
					}
				}
				if c.peerGone || (c.writeShut && c.readDone) {
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

// exec runs a start thread (accept or open) at pc; fd >= 0 is the
// descriptor Runtime.Start already opened for it.
func (m *Machine) exec(pc uint32, fd int) {
	in := &m.inst[pc]
	m.ops[in.Op]++
	ep := m.rt.eps[in.Arg]
	switch in.Op {
	case OpAccept:
		m.rt.live.Add(1)
		m.lists = append(m.lists, &listener{pc: pc, ep: in.Arg, fd: fd, next: m.id, adm: ep.Admission()})
		m.armAccept(uint32(len(m.lists) - 1))
	case OpOpen:
		var c *conn
		var err error
		if fd >= 0 {
			c = m.newConn(fd, in.Arg, in.Out)
			c.inline = completion.Pollable(fd)
		} else if c, err = m.connect(in.Arg, in.Out); err != nil {
			if ep.Role() == RoleConnect {
				m.reopenLater(pc, err)
			} else {
				m.log.Error("endpoint failed", "endpoint", m.prog.Endpoints[in.Arg], "err", err)
			}
			return
		}
		c.start = pc
		delete(m.reopenWait, pc)
		m.run(c)
	default:
		panic(fmt.Sprintf("opcodes: pc %d: %v is not a start op", pc, in.Op))
	}
}

// reopenLater retries a connect endpoint whose socket could not even be
// made (out of descriptors, say), on the endpoint's reconnect schedule.
func (m *Machine) reopenLater(pc uint32, err error) {
	in := &m.inst[pc]
	s := m.reopenWait[pc]
	if s == nil {
		s = new(completion.BackoffState)
		m.reopenWait[pc] = s
	}
	d, ok := s.Next(m.rt.eps[in.Arg].Reconnect(), time.Now())
	if !ok {
		m.log.Error("giving up on endpoint", "endpoint", m.prog.Endpoints[in.Arg], "err", err)
		return
	}
	m.link(in.Arg).err = err
	m.retrying(in.Arg, d, 0)
	m.rt.live.Add(1)
	m.port.After(d, token(tagReopen, 0, pc))
}

func (m *Machine) armAccept(i uint32) {
	l := m.lists[i]
	if err := m.port.Accept(l.fd, token(tagListener, 0, i)); err != nil {
		m.log.Error("accept", "endpoint", m.prog.Endpoints[l.ep], "err", err)
	}
}

func (m *Machine) accepted(i uint32, cp *completion.Completion) {
	if int(i) >= len(m.lists) || m.lists[i].fd < 0 {
		if cp.Err == 0 {
			unix.Close(cp.N)
		}
		return
	}
	l := m.lists[i]
	switch cp.Err {
	case 0:
		if l.pause {
			l.pause = false
			m.log.Info("accept resumed", "endpoint", m.prog.Endpoints[l.ep])
		}
	case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
		// Out of descriptors or memory: retry every 100ms instead of
		// spinning, and say so once per episode.
		if !l.pause {
			l.pause = true
			m.log.Warn("accept paused", "endpoint", m.prog.Endpoints[l.ep], "err", cp.Err)
		}
		m.port.After(100*time.Millisecond, token(tagAccept, 0, i))
		return
	default:
		m.armAccept(i) // ECONNABORTED and friends: the next one may be fine
		return
	}
	// Accept stays armed: no resubmission per connection.
	if !m.admit(l, cp.N) {
		unix.Close(cp.N)
		return
	}
	if l.adm.MaxConns > 0 {
		m.rt.listenConns[l.ep].Add(1) // taken back when the conn closes
	}
	target := l.next % len(m.rt.machines)
	l.next++
	if pin := m.rt.pin(l.ep); pin >= 0 {
		target = pin
	}
	if target == m.id {
		m.adopt(cp.N, l.ep, m.inst[l.pc].Out)
		return
	}
	m.post(target, &connMail{fd: cp.N, ep: l.ep, pc: m.inst[l.pc].Out})
}

// adopt makes a conn of an accepted descriptor and starts it at pc.
func (m *Machine) adopt(fd int, ep uint32, pc uint32) {
	if m.stopping || m.isRetired(ep) {
		m.refuseAdopted(&connMail{fd: fd, ep: ep})
		return
	}
	c := m.newConn(fd, ep, pc)
	c.inline = true
	c.counted = c.endpoint.Admission().MaxConns > 0
	m.run(c)
}

func (m *Machine) newConn(fd int, ep uint32, pc uint32) *conn {
	var c *conn
	if n := len(m.free); n > 0 {
		slot := m.free[n-1]
		m.free = m.free[:n-1]
		c = m.conns[slot]
		gen := c.gen + 1
		*c = conn{slot: slot, gen: gen}
	} else {
		c = &conn{slot: uint32(len(m.conns)), gen: 1}
		m.conns = append(m.conns, c)
	}
	e := m.rt.eps[ep]
	c.fd, c.ep, c.endpoint, c.rpc = fd, ep, e, pc
	c.fr, c.maxFrame, c.hwm = e.Framing(), e.MaxFrame(), e.HighWater()
	c.hwmMsgs, c.policy = e.HighWaterMsgs(), e.Overflow()
	c.idleTimed, c.ignoreEOF, c.lastIO = e.IdleTimeout() > 0, e.IgnoreEOF(), time.Now().UnixNano()
	c.frameTimed = e.FrameTimeout() > 0
	c.frID, c.raw = m.rt.frIDs[ep], !c.fr.Boundaries()
	if d, ok := c.fr.(Datagrams); ok && d.Datagrams() {
		c.dgram = true
	}
	if cp, ok := c.fr.(Capped); ok {
		c.maxOut = cp.MaxPayload()
	}
	m.counters[ep].Opened++
	m.active[ep]++
	m.rt.live.Add(1)
	return c
}

// connect opens endpoint ep for a new conn starting at pc.
func (m *Machine) connect(ep uint32, pc uint32) (*conn, error) {
	e := m.rt.eps[ep]
	switch e.Role() {
	case RoleConnect:
		fd, sa, err := e.Socket()
		if err != nil {
			return nil, err
		}
		c := m.newConn(fd, ep, pc)
		c.inline, c.connecting = true, true
		if err := m.port.Connect(fd, sa, m.tok(c)); err != nil {
			m.close(c, DropDisconnect)
			return nil, err
		}
		return c, nil
	case RoleOpen:
		fd, err := e.Open()
		if err != nil {
			return nil, err
		}
		c := m.newConn(fd, ep, pc)
		c.inline = completion.Pollable(fd)
		return c, nil
	}
	return nil, fmt.Errorf("endpoint %s cannot be dialled", m.prog.Endpoints[ep])
}

func (m *Machine) dial(c *conn, in *Inst) {
	p, err := m.connect(in.Arg, in.Alt)
	if err != nil {
		m.log.Warn("dial failed", "endpoint", m.prog.Endpoints[in.Arg], "err", err)
		m.counters[in.Arg].Errors++
		m.fail(c, DropDisconnect, errnoOf(err))
		return
	}
	c.peer, p.peer = p, c
	m.run(p)
}

func (m *Machine) tok(c *conn) uint64 { return token(tagConn, c.gen, c.slot) }

func (m *Machine) target(c *conn, mode Mode) *conn {
	switch mode {
	case ToPeer:
		return c.peer
	case ToSelf:
		return c
	}
	return nil
}

func (m *Machine) join(c *conn, g, topics uint32) {
	if slices.Contains(c.groups, g) {
		return // a reconnected conn runs its program again
	}
	if topics > 0 {
		f := c.roles().filterIn(g) // declared topics are the operator's: not bounded
		for _, t := range m.prog.Topics[topics-1] {
			f.topics.add([]byte(t))
		}
	}
	m.groups[g] = append(m.groups[g], c)
	c.groups = append(c.groups, g)
	m.rt.members[int(g)*len(m.rt.machines)+m.id].Add(1)
	m.dispatchHeld() // a new worker has room
}

func (m *Machine) leave(c *conn) {
	for _, g := range c.groups {
		list := m.groups[g]
		for i, x := range list {
			if x == c {
				last := len(list) - 1
				list[i] = list[last]
				list[last] = nil
				m.groups[g] = list[:last]
				break
			}
		}
		m.rt.members[int(g)*len(m.rt.machines)+m.id].Add(-1)
	}
	c.groups = nil
}

// fail records an error on c; its reader runs the error handler next.
func (m *Machine) fail(c *conn, drop Drop, err syscall.Errno) {
	if c.closed || c.failed {
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
		if c.closed {
			continue
		}
		if c.epc == 0 {
			// It failed before its program ran (a refused connect): no
			// handler yet, so count the error here.
			m.counters[c.ep].Errors++
			m.close(c, c.failDrop)
			continue
		}
		c.connecting, c.parked, c.recvPending = false, false, false
		m.run(c)
	}
	if len(m.wake) > 0 {
		m.settle() // error handlers closed conns that others waited on
	}
}

func (m *Machine) close(c *conn, drop Drop) {
	if c.closed || m.suspend(c) {
		return
	}
	c.closed = true
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
		c.lingering, c.lingerDrop = true, drop
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
		if !m.stopping {
			for _, a := range r.announce {
				m.announce(c, a[0], a[1], "left")
			}
		}
		m.releaseName(c)
		m.requestsLost(c, 0)
		m.dropHeld(c)
		c.ro = nil
	}
	// Senders blocked on c go on: their next message finds c gone. Its
	// peer is not one of them; it follows c out once drained (below).
	for i, w := range c.waiters {
		if w.c == c.peer {
			c.waiters[i] = connRef{}
		}
	}
	m.wakeAll(c)
	c.blocked = false
	if p := c.peer; p != nil {
		c.peer, p.peer = nil, nil
		p.peerGone, p.wantShut = true, true
		p.parked, p.blocked = false, false
		m.runWriter(p)
	}
	if c.counted {
		m.rt.listenConns[c.ep].Add(-1)
	}
	m.log.Debug("closed", "endpoint", m.prog.Endpoints[c.ep])
	if !c.lingering {
		m.freeConn(c)
	}
}

// suspend keeps a lost connect endpoint that the router opened itself (a
// fan-out sink, a merge sink, a source it connects to) instead of closing
// it: its descriptor goes, but its place in groups and its queue stay, so
// messages keep queueing up to its marks under its overflow policy while a
// new connection is made after a backoff. Messages a write had started on
// are dropped (disconnect): the new connection must not get their tails.
// It reports false when c should close for good: stopping, a dialled conn,
// or the backoff gave up.
func (m *Machine) suspend(c *conn) bool {
	if c.start == 0 || m.stopping || m.isRetired(c.ep) || c.endpoint.Role() != RoleConnect || c.peer != nil || c.spliceOut() || c.pipeFill() > 0 {
		return false
	}
	d, ok := c.retry.Next(c.endpoint.Reconnect(), time.Now())
	if !ok {
		m.log.Warn("giving up reconnecting", "endpoint", m.prog.Endpoints[c.ep], "queued", c.out.msgs())
		return false
	}
	m.streamAborted(c)
	m.dropPipe(c)
	if c.fd >= 0 {
		m.port.Cancel(c.fd)
		c.endpoint.Release(c.fd)
		c.fd = -1
		m.counters[c.ep].Closed++
		m.active[c.ep]--
	}
	had := c.queued()
	inflight := 0
	if c.sending {
		inflight = c.inflight
	}
	msgs, n := c.out.abandonStarted(&m.chunks, inflight)
	m.counters[c.ep].Drops[DropDisconnect] += uint64(msgs)
	m.counters[c.ep].QueuedMsgs -= int64(msgs)
	m.counters[c.ep].Queued -= int64(n)
	if had > 0 && c.queued() == 0 {
		m.busy--
	}
	m.requestsLost(c, c.out.msgs()) // what is still queued goes to the new connection
	m.releaseInput(c)
	c.in, c.cur, c.msg = nil, nil, nil
	// Completions of the old descriptor's operations must not find c:
	// a new generation makes their tokens stale.
	c.gen++
	c.sending, c.recvPending, c.readDone, c.wantShut, c.writeShut = false, false, false, false, false
	c.peerGone, c.failed, c.parked, c.blocked = false, false, false, false
	c.epc, c.wpc = 0, 0
	c.connecting, c.down = true, true
	m.wakeAll(c) // its senders go on: what they send now queues or drops by policy
	m.retrying(c.ep, d, c.out.msgs())
	m.port.After(d, token(tagReconnect, c.gen, c.slot))
	return true
}

// reconnect makes a new connection for a suspended conn; its program runs
// again from the start once connected (joins are kept, not repeated).
func (m *Machine) reconnect(c *conn) {
	fd, sa, err := c.endpoint.Socket()
	if err == nil {
		c.fd = fd
		c.inline = true
		m.counters[c.ep].Opened++
		m.active[c.ep]++
		if err = m.port.Connect(fd, sa, m.tok(c)); err == nil {
			c.down = false
			c.rpc = m.inst[c.start].Out
			return
		}
	}
	m.log.Debug("reconnect failed", "endpoint", m.prog.Endpoints[c.ep], "err", err)
	m.counters[c.ep].Errors++
	m.close(c, DropDisconnect) // suspends it again, or gives up
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
		if c != nil && !c.closed {
			m.close(c, DropShutdown)
		}
	}
	m.closedAll = true
	m.done = m.lingering == 0
	m.publish()
}

// publish copies the loop's plain counters to the atomics Stats reads. It
// runs every turn, so it stores only what changed since the last time.
func (m *Machine) publish() {
	if m.ops != m.lastOps {
		for i := range m.ops {
			if m.ops[i] != m.lastOps[i] {
				m.pub.ops[i].Store(m.ops[i])
			}
		}
		m.lastOps = m.ops
	}
	changed := false
	for i := range m.counters {
		if m.counters[i] != m.lastCounters[i] {
			m.pub.eps[i].store(&m.counters[i])
			m.lastCounters[i] = m.counters[i]
		}
		if m.active[i] != m.lastActive[i] {
			m.pub.active[i].Store(m.active[i])
			m.lastActive[i] = m.active[i]
			changed = true
		}
	}
	if changed {
		total := int64(0)
		for _, a := range m.active {
			total += a
		}
		m.pub.conns.Store(total)
	}
}

func errnoOf(err error) syscall.Errno {
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	if se, ok := err.(interface{ Unwrap() error }); ok {
		return errnoOf(se.Unwrap())
	}
	return unix.EIO
}
