package opcodes

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/contract"
	"golang.org/x/sys/unix"
)

// Token tags: what a completion is for (the layout is in host.go).
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
	tagWarm      = 9 // rest the sealing sessions idle since the last sweep
)

// token makes a completion token; the Machine's port adds which Machine.
func token(tag uint8, gen, slot uint32) uint64 {
	return uint64(tag&0xf)<<60 | uint64(gen&0xffffff)<<24 | uint64(slot&0xffffff)
}

func untoken(t uint64) (tag uint8, gen, slot uint32) {
	return uint8(t >> 60), uint32(t>>24) & 0xffffff, uint32(t) & 0xffffff
}

// Machine runs one program on one loop: it owns the program's connections,
// listeners and counters there, and executes instructions in one switch.
// Several Machines, one per program generation, share a loop (host.go).
type Machine struct {
	rt     *Runtime
	id     int      // the loop's index
	hid    uint32   // its id among the Machines on the loop: tokens carry it
	loop   *mailbox // where mail for it goes
	exited atomic.Bool
	port   completion.Port
	prog   *Prog
	inst   []Inst
	log    *slog.Logger
	conns  []*conn
	warm   warmRing // sealing conns that keep their buffers and built state (secure_warm.go)
	free   []uint32
	lists  []*listener
	// groups holds this loop's members of each group.
	groups  [][]*conn
	doomed  []*conn
	outbox  []*groupBatch // per loop: messages for its members, posted in Turn
	dirty   []*conn       // conns queued to this turn, flushed once each in Turn
	blocks  [][]byte      // scratch: the blocks of an inline write
	chunks  chunkPool     // output blocks for this loop's conns
	hdr     [8]byte
	hdrs    []byte           // scratch: a multipart destination's headers (encode)
	seg3    [3][]byte        // scratch: head, payload, tail of a one-part message re-framed
	one     [1][]byte        // scratch: that payload, as Encode takes it
	onePart [1]contract.Part // scratch: a single-part message's part, for a session's Control
	segs    [][]byte         // scratch: a multipart message's segments for another framing
	payload [][]byte         // scratch: a message's parts, as slices of its wire
	iov     []unix.Iovec
	running *conn
	wake    []connRef // blocked senders to run again, in settle
	cursor  []int     // per group: the next member a round robin tries
	// ups holds, per group, the conns whose sessions hear of its
	// subscriptions (upstream.go).
	ups [][]upstreamConn

	fanning     bool            // a group send is delivering
	shared      shareStream     // its message, copied once for every queue
	runMsgs     []batchMsg      // scratch: the messages of a run
	recode      recoding        // scratch: a run encoded for members of another framing
	oneMsg      [1]batchMsg     // scratch: a single message posted to other loops
	postTo      []int           // scratch: the loops a run goes to
	transit     []mailLink      // per other loop: mail in transit (transit.go)
	overLink    []bool          // per loop: in overLinks
	overLinks   []int           // links this send took over transitHigh
	named       []byte          // scratch: "<name> payload"
	prefixBuf   []byte          // scratch: that, framed
	bodyParts   []contract.Part // scratch: the parts' bounds in named
	prefixParts []contract.Part // scratch: the parts' bounds in prefixBuf
	spareIn     []byte          // a carry buffer given back, for the next to grow (input.go)

	ops      [NumOps]uint64
	counters []epCounters
	// What publish stored last, to skip unchanged atomics.
	lastOps      [NumOps]uint64
	lastCounters []epCounters
	edgeFigs     []edgeCounters // per edge (route_stats.go)
	lastEdgeFigs []edgeCounters
	lastActive   []int64
	pub          *machinePub
	active       []int64 // per endpoint

	reopenWait map[uint32]*contract.BackoffState // start pc -> its retry schedule
	links      []link                            // per endpoint: connect episodes (connecting.go)
	idleEvery  time.Duration                     // the idle sweep's period; 0: none
	ticks      tickState                         // the sweep's schedule and the sessions it ticks (session_tick.go)
	retired    []bool                            // endpoints a reload retired; nil: none
	retiring   []*conn                           // their conns, closing once drained
	req        requestState                      // request/reply: held requests, the reply_timeout sweep
	stopping   bool
	finishing  bool
	closedAll  bool // closeAll ran: done once nothing lingers
	done       bool
	terms      []terms  // per endpoint, made on first use (terms.go)
	sweepDue   bool     // the idle sweep's timer fired: post a sweepMail at the end of the turn
	pubAgain   bool     // a publish was put off for a Stats read: a publishMail is on its way
	dialFails  []uint64 // per endpoint: dials failed in a row (one log line an episode)
	lingering  int      // closed conns waiting for a write's completion (lingerClose)
	busy       int      // conns with queued output
	// timersUntil is when the last timer it armed is due: its id is not
	// given to another Machine before (host.go).
	timersUntil time.Time
}

type machinePub struct {
	ops    [NumOps]atomic.Uint64
	eps    []epPublished
	edges  []edgePublished
	active []atomic.Int64
	conns  atomic.Int64
	moment atomic.Uint64 // publishes of eps and edges begun and ended (stats_moment.go)
	// readers waiting for a moment between publishes: the loop skips
	// publishing while there are any (stats_moment.go).
	readers atomic.Int32
}

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
		v.data, v.msgs, v.parts = v.data[:0], v.msgs[:0], v.parts[:0]
		batchPool.Put(v)
	case *connMail:
		m.adopt(v.fd, v.ep, v.pc)
	case *secureMail:
		m.secured(v)
	case publishMail:
		m.pubAgain = false // this turn publishes (Turn)
	case sweepMail:
		m.sweepIdle()
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
	case upstreamMail:
		m.upstreamChanged(v)
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
		if c != nil && c.life == connLingering {
			m.lingerClose(c, cp)
			break
		}
		if c == nil {
			if cp.Buf != nil {
				m.port.Release(cp.Buf)
			}
			if cp.Kind == completion.KindAccept && cp.Err == 0 {
				completion.Close(cp.N)
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
		m.sweepDue = true // see sweepMail
	case tagReplies:
		m.sweepReplies()
	case tagWarm:
		m.sweepWarm()
	case tagRetire:
		m.finishRetiring(true)
	case tagReconnect:
		// A retired endpoint stays down: its queue waits for the drain
		// deadline.
		if c := m.lookup(slot, gen); c != nil && c.life == connDown && !m.isRetired(c.ep) {
			m.reconnect(c)
		}
	case tagDrain:
		if m.finishing && !m.closedAll { // only its own: an id is reused once freed
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
	if m.sweepDue {
		// Sweep after one more look for completions (sweepMail).
		m.sweepDue = false
		m.loop.Post(sweepMail{})
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

func (m *Machine) tok(c *conn) uint64 { return token(tagConn, c.gen, c.slot) }

func errnoOf(err error) syscall.Errno {
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	if se, ok := err.(interface{ Unwrap() error }); ok {
		return errnoOf(se.Unwrap())
	}
	return unix.EIO
}
