package opcodes

import (
	"errors"
	"fmt"
	"time"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/contract"
)

// The session layer (see "A connection's layers" in doc.go): a framing
// that is contract.Sessioned gives each of its conns a contract.Session,
// which the machine calls at four points:
//
//   - the transport is up (accepted, opened, connected): Start, a greeting;
//   - input, in frame, before framing, until the handshake is done:
//     Handshake; the reader frames nothing meanwhile, and sends to the
//     conn only queue;
//   - each message framed after it: Control, which keeps pings and the
//     like from the program and answers them;
//   - the write side ends (a half-close once drained, or a close): Close;
//   - and, for a session that is a contract.Ticker on a Clocked framing,
//     every tick of the loop's sweep once established: Tick
//     (session_tick.go).
//
// What the hooks write is control output, kept apart from the queue in
// session.ctl: it is not a message (not offered, counted or dropped as
// one), and it is written ahead of the queue's next message, never inside
// one a write has started (session.iov). A conn without a session has
// c.sess nil, and pays one nil check per message read and per write.

// session is a conn's session state. Every idle conn with a session
// holds one, so what the reader rarely meets (held) is behind a pointer.
type session struct {
	s    contract.Session
	done bool // the handshake is done: messages flow both ways
	bye  bool // Close was called: its words are in ctl or gone
	shed bool // ctl holds the handshake's last output: let the buffer go once it is written
	// eof: its input has ended in the protocol's words (TLS's
	// close_notify; a handshake that replied and ends,
	// contract.ErrReplied): the reader meets the end without a read.
	eof      bool
	warm     bool  // in its loop's warm ring (secure_warm.go)
	recent   bool  // used since the ring's last sweep
	seals    bool  // its sealing seals output too (a contract.Sealer)
	deadline int64 // unix nanoseconds by which the handshake must be done
	took     int   // bytes the handshake consumed so far (max_frame bounds it)

	// ctl is control output not yet written; ctl[:ctlSent] lead the
	// write under way (inline or in the port).
	ctl     []byte
	ctlSent int

	clock sessionClock // last read and write, when it ticks (session_tick.go)
	seal  *sealing     // the session seals once established (seal.go); nil: it does not
	held  *heldInput   // input the reader takes before it reads again; nil: none
}

// heldInput is what a session's reader takes before it reads again.
type heldInput struct {
	// early is what a secured conn's handshake read past its end
	// (secure.go).
	early []byte
	// broken is what the session could not unseal, kept until what came
	// whole before it is framed: the reader then fails the conn with it.
	broken error
}

// hold gives s's held input, made if it has none.
func (s *session) hold() *heldInput {
	if s.held == nil {
		s.held = &heldInput{}
	}
	return s.held
}

// keepCtl is the control buffer's capacity kept once it empties.
const keepCtl = 512

// openSession gives c a session, if its framing has one, once its
// transport is up, and queues the session's greeting. A reconnected conn
// gets a new one.
func (m *Machine) openSession(c *conn) {
	if c.terms.sess == nil {
		return
	}
	s := m.newSession(c)
	m.setSession(c, s, m.framingSession(c, s))
	m.ctlOut(c, s.s.Start(nil))
}

// newSession gives c a new session state, its hooks not yet set.
func (m *Machine) newSession(c *conn) *session {
	s := &session{deadline: time.Now().Add(m.rt.set[c.ep].HandshakeTimeout()).UnixNano()}
	c.sess = s
	return s
}

// framingSession makes the session c's framing gives each conn.
func (m *Machine) framingSession(c *conn, s *session) contract.Session {
	if sub := c.terms.subscriber; sub != nil {
		return sub.NewSubscriber(m.rt.eps[c.ep].Role(), &connTopics{m: m, c: c, s: s})
	}
	return c.terms.sess.NewSession(m.rt.eps[c.ep].Role())
}

// setSession makes ss s's hooks.
func (m *Machine) setSession(c *conn, s *session, ss contract.Session) {
	s.s = ss
	if opener, ok := ss.(contract.Opener); ok {
		s.seal = newSealing(opener)
		_, s.seals = ss.(contract.Sealer)
	}
	m.startTicking(c)
}

// ctlOut takes what a hook returned as c's control output, and has it
// written this turn if it grew. Control output is never dropped, so it is
// bounded instead: more than max_frame of it unwritten means the peer
// does not read what its session answers (pings it never reads the pongs
// of), and fails c.
func (m *Machine) ctlOut(c *conn, out []byte) {
	if !m.takeCtl(c, out) {
		return
	}
	if len(out) > c.terms.maxFrame {
		m.sessionFailed(c, "control output", fmt.Errorf("over max_frame (%d bytes) unwritten: the peer does not read", c.terms.maxFrame))
		return
	}
	m.wantWrite(c)
}

// takeCtl takes what a hook returned as c's control output, and reports
// whether it grew.
func (m *Machine) takeCtl(c *conn, out []byte) bool {
	s := c.sess
	grew := len(out) > len(s.ctl)
	s.ctl = out
	if grew {
		m.counters[c.ep].ControlOut++
	}
	return grew
}

// wantWrite marks c for this turn's flush.
func (m *Machine) wantWrite(c *conn) {
	if !c.dirty && !c.sending && !c.connecting() && !c.closed() {
		c.dirty = true
		m.dirty = append(m.dirty, c)
	}
}

// handshake feeds c's input to its session until the handshake is done
// or needs more bytes. It reports whether it is done; c.cur holds the
// rest, to be framed. A handshake that fails, or holds more than
// max_frame, fails c.
func (m *Machine) handshake(c *conn) bool {
	s := c.sess
	for len(c.cur) > 0 {
		n, out, done, err := s.s.Handshake(c.cur, s.ctl)
		if m.ctlOut(c, out); c.failed {
			return false
		}
		if err == nil && (n < 0 || n > len(c.cur)) {
			err = fmt.Errorf("session consumed %d of %d bytes", n, len(c.cur))
		}
		if errors.Is(err, contract.ErrReplied) {
			// Its reply goes out, then it ends as at its peer's end
			// of input (the reader meets it next), not as an error.
			c.cur, s.eof = nil, true
			return false
		}
		if err != nil {
			m.sessionFailed(c, "handshake", err)
			return false
		}
		c.cur = c.cur[n:]
		s.took += n
		if done {
			m.established(c)
			return true
		}
		if n == 0 {
			break
		}
	}
	if s.took+len(c.cur) > c.terms.maxFrame {
		m.sessionFailed(c, "handshake", fmt.Errorf("handshake longer than max_frame (%d bytes)", c.terms.maxFrame))
	}
	return false
}

// established ends c's handshake: what was queued meanwhile goes out.
func (m *Machine) established(c *conn) {
	s := c.sess
	s.done = true
	// Connected only now: a peer that takes the transport and turns the
	// handshake away (refused credentials, closed at once) must not
	// restart the backoff each time and be retried at its initial delay.
	c.retry = nil
	if len(s.ctl) == 0 {
		s.ctl = nil // the handshake's output is written: its buffer goes
	} else {
		s.shed = true
	}
	if f := &m.rt.sessionFails[c.ep]; f.Load() > 0 {
		if n := f.Swap(0); n > 0 {
			m.log.Info("session handshakes complete again", "endpoint", m.prog.Endpoints[c.ep], "failed", n)
		}
	}
	m.syncUpstream(c) // upstream.go
	if c.queued() > 0 {
		m.wantWrite(c)
	}
}

// control hands c's current message to its session, and reports whether
// it was a control message (answered; not the program's).
func (m *Machine) control(c *conn) bool {
	s := c.sess
	msg := contract.Message{Wire: c.msg, Parts: c.parts}
	if c.parts == nil {
		m.onePart[0] = contract.Part{Lo: c.lo, Hi: c.hi}
		msg.Parts = m.onePart[:]
	}
	ctl, out, err := s.s.Control(msg, s.ctl)
	if m.ctlOut(c, out); c.failed {
		return true
	}
	if errors.Is(err, contract.ErrReplied) {
		// The peer said it ends (WebSocket's close frame), and the
		// session answered: what follows is not read.
		m.counters[c.ep].ControlIn++
		c.cur, s.eof = nil, true
		return true
	}
	if err != nil {
		m.sessionFailed(c, "control", err)
		return true
	}
	if ctl {
		m.counters[c.ep].ControlIn++
	}
	return ctl
}

// sessionFailed fails c for its session's error; its error handler counts
// it. One line an episode per endpoint, over all loops: a flood of bad
// handshakes must not flood the log.
func (m *Machine) sessionFailed(c *conn, in string, err error) {
	m.logSessionFailure(c, in, err)
	c.cur = nil
	m.fail(c, DropDisconnect, 0)
}

func (m *Machine) logSessionFailure(c *conn, in string, err error) {
	if m.rt.sessionFails[c.ep].Add(1) == 1 {
		m.log.Warn("closing connection: session failed (until a handshake completes again, failures are counted as errors, not logged)",
			"endpoint", m.prog.Endpoints[c.ep], "in", in, "reason", err)
	}
}

// handshakeCut fails c, a conn it dialled, whose peer ended its input
// before the session's handshake was done: the server turned it away
// without a word (a proxy whose backend is down, a server at its limit,
// one restarting), an error to count and say, not a close. A listener's
// peer doing so (a health check's connect and close) closes as usual.
func (m *Machine) handshakeCut(c *conn) bool {
	s := c.sess
	if s == nil || s.done || m.rt.eps[c.ep].Role() != contract.RoleConnect {
		return false
	}
	m.sessionFailed(c, "handshake", errors.New("the peer closed before the handshake was done"))
	return true
}

// handshakeExpired closes c if its handshake is overdue (the idle sweep
// asks), counted as an error; it reports whether it did.
func (m *Machine) handshakeExpired(c *conn, now int64) bool {
	s := c.sess
	if s == nil || s.done || now <= s.deadline {
		return false
	}
	m.logSessionFailure(c, "handshake", fmt.Errorf("not done within %v", m.rt.set[c.ep].HandshakeTimeout()))
	m.counters[c.ep].Errors++
	m.close(c, DropDisconnect)
	return true
}

// toWrite reports whether c has bytes ready to write: its queue (held
// back by a session until its handshake is done) or control output.
func (c *conn) toWrite() bool {
	if c.sess == nil {
		return c.out.len() > 0
	}
	return len(c.sess.ctl) > 0 || c.sess.done && c.out.len() > 0
}

// iov appends the bytes of c's next write to dst: control output first
// where the queue is between messages, then the queue once the handshake
// is done. Where a write has started a message, the rest of that message
// goes alone, and the control output right after it.
func (s *session) iov(q *outQueue, dst [][]byte) [][]byte {
	s.ctlSent = 0
	if len(s.ctl) > 0 && q.written == q.first {
		dst = append(dst, s.ctl)
		s.ctlSent = len(s.ctl)
	}
	switch {
	case !s.done:
		return dst
	case len(s.ctl) > 0 && s.ctlSent == 0:
		return q.iovFirst(dst)
	}
	return q.iov(dst)
}

// wroteCtl accounts n bytes written from the front of c's next write, and
// returns how many of them were control output.
func (s *session) wroteCtl(n int) int {
	k := min(n, s.ctlSent)
	s.ctl = s.ctl[:copy(s.ctl, s.ctl[k:])]
	s.ctlSent = 0
	if len(s.ctl) == 0 && (cap(s.ctl) > keepCtl || s.shed) {
		// An idle conn keeps no large buffer, nor the handshake's (a
		// WebSocket's 101 reply): most connections say nothing more
		// of their own.
		s.ctl, s.shed = nil, false
	}
	return k
}

// sayBye asks c's session for its last words before its write side is
// shut, and has them written; it reports whether they are still on their
// way (the writer runs again when they are).
func (m *Machine) sayBye(c *conn) bool {
	s := c.sess
	if !s.bye {
		s.bye = true
		m.takeCtl(c, m.lastWords(c, s.ctl))
	}
	if len(s.ctl) == 0 {
		return false
	}
	m.writeNow(c)
	return !c.closed() && (c.sending || len(s.ctl) > 0)
}

// byeOnClose writes c's session's last words as c closes, best effort:
// one non-blocking write, and only where it cannot cut a message short
// (no write under way, none begun) — a write that would block loses them.
func (m *Machine) byeOnClose(c *conn) {
	s := c.sess
	if s.bye || c.fd < 0 || c.sending || !c.inline || c.shut == shutDone || c.out.written != c.out.first || s.seal != nil && s.seal.sealOut != nil && s.seal.sent > 0 {
		return
	}
	s.bye = true
	if !m.takeCtl(c, m.lastWords(c, s.ctl)) && len(s.ctl) == 0 {
		return
	}
	if n, err := completion.Writev(c.fd, [][]byte{s.ctl}, &m.iov); err == nil && n > 0 {
		m.counters[c.ep].BytesOut += uint64(n)
	}
	s.ctl = nil
}

// lastWords is c's session's Close, or its Leave (contract.Leaver) when
// c goes because the router stops or a reload retires its endpoint.
func (m *Machine) lastWords(c *conn, out []byte) []byte {
	s := c.sess.s
	if l, ok := s.(contract.Leaver); ok && (m.stopping || m.isRetired(c.ep)) {
		return l.Leave(out)
	}
	return s.Close(out)
}
