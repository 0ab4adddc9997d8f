package opcodes

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/contract"
)

// Securing (TLS): an endpoint whose settings name a contract.Securer
// secures each stream connection before its program reads or writes a
// byte of it. Accepted or connected, the conn stays connecting (sends to
// it only queue) while the Securer's pool runs the handshake off the
// loop; the result comes back as a secureMail. A failure closes the conn,
// counted by reason (SecureFailed) and logged once per episode; success
// gives the conn a session that seals and unseals every byte with the
// Transport (secureSession) and wraps the framing's own session, if it
// has one. What follows is the machine's usual path for a conn whose
// transport just came up.
//
// The conn holds no goroutine: the pool's handshake works on its own
// duplicate of the descriptor and is cancelled if the conn closes first.

// secureMail is a handshake's result, posted by the Securer's pool.
type secureMail struct {
	ref connRef
	t   contract.Transport
	err error
}

// secure starts c's handshake; c queues meanwhile.
func (m *Machine) secure(c *conn) {
	c.life, c.secureBroke = connConnecting, false
	ref := connRef{c: c, gen: c.gen}
	loop := m.rt.machines[m.id].loop
	c.securing = c.terms.secure.Secure(c.fd, m.rt.eps[c.ep].Role(), func(t contract.Transport, err error) {
		// A loop that has finished closed c's descriptor: nothing is owed.
		loop.Post(&secureMail{ref: ref, t: t, err: err})
	})
}

// secured takes a handshake's result back on c's loop.
func (m *Machine) secured(v *secureMail) {
	c := v.ref.live()
	if c == nil || c.securing == nil {
		return // closed meanwhile: its handshake was cancelled
	}
	c.securing = nil
	if v.err != nil {
		m.secureFailed(c, v.err)
		return
	}
	m.counters[c.ep].Secured++
	if f := &m.rt.secureFails[c.ep]; f.Load() > 0 {
		if n := f.Swap(0); n > 0 {
			m.log.Info("handshakes complete again", "endpoint", m.prog.Endpoints[c.ep], "failed", n, "now", v.t.Described())
		}
	}
	c.life = connLive
	if m.rt.eps[c.ep].Role() == contract.RoleConnect {
		m.connected(c)
		if c.terms.sess == nil {
			c.retry = nil // connected: the next failure starts a new backoff
		} // else once its session's handshake is done (established)
	}
	if !m.kernelSecured(c, v.t) { // secure_kernel.go
		m.openSessionOver(c, v.t)
	}
	m.up(c)
	m.wakeSplicer(c)
}

// secureFailed closes c for a failed handshake or a bad record: counted
// by reason, one log line an episode per endpoint over all loops. A
// handshake's failures end with a handshake that succeeds; those after
// the handshake with a secured connection that ends without failing.
func (m *Machine) secureFailed(c *conn, err error) {
	m.counters[c.ep].SecureFailed[contract.SecureReasonOf(err)]++
	c.secureBroke = true
	fails := &m.rt.secureFails[c.ep]
	if c.life != connConnecting {
		fails = &m.rt.recordFails[c.ep]
	}
	if m.rt.eps[c.ep].Role() == contract.RoleConnect && c.life == connConnecting {
		m.connectFailed(c, err) // its reconnect episode says why
	} else if fails.Add(1) == 1 {
		m.log.Warn("closing connection: TLS failed (until one succeeds again, failures are counted by reason, not logged)",
			"endpoint", m.prog.Endpoints[c.ep], "reason", err)
	}
	c.cur = nil
	m.fail(c, DropDisconnect, 0)
}

// secureEnded ends the episode of failures after the handshake when c,
// secured, closes without one.
func (m *Machine) secureEnded(c *conn) {
	if c.secureBroke || c.sealed() == nil && c.kernelTLS() == nil {
		return
	}
	if f := &m.rt.recordFails[c.ep]; f.Load() > 0 {
		if n := f.Swap(0); n > 0 {
			m.log.Info("TLS connections end cleanly again", "endpoint", m.prog.Endpoints[c.ep], "failed", n)
		}
	}
}

// cancelSecuring stops c's handshake, if one is running.
func (c *conn) cancelSecuring() {
	if c.securing != nil {
		c.securing()
		c.securing = nil
	}
}

// secureSession is a secured conn's session: it seals what the framing's
// session (inner; nil: the framing has none) says and unseals what it
// reads. The machine seals the queue's messages and unseals input through
// it (seal.go), as it does for any contract.Sealer.
//
// An inner session that decodes its input (an Opener: WebSocket's frames)
// or seals its output (a Sealer) does so inside TLS: input is unsealed by
// TLS, then opened by inner; output sealed by inner, then by TLS.
//
// Every idle secured conn holds one, and most framings (lines, length
// prefixes) have no session of their own: the inner session and its
// scratch are a separate object, so such a conn holds 24 bytes here, not
// 160.
type secureSession struct {
	t  contract.Transport
	in *innerSession // nil: the framing has no session
}

// innerSession is the framing's own session inside TLS, with its scratch.
type innerSession struct {
	s     contract.Session
	open  contract.Opener // s, if it opens its input; nil: it does not
	seal  contract.Sealer // s, if it seals its output; nil: it does not
	plain []byte          // unsealed input the machine has not taken yet
	buf   []byte          // scratch for s's control output before sealing
	msgs  []byte          // scratch for s's sealed output before TLS
}

// secureTicker is a secureSession whose inner session ticks.
type secureTicker struct {
	*secureSession
	tick contract.Ticker
}

func (s *secureTicker) Tick(now, lastRead, lastWrite int64, out []byte) ([]byte, error) {
	reply, err := s.tick.Tick(now, lastRead, lastWrite, s.in.buf[:0])
	s.in.buf = reply[:0]
	if err != nil || len(reply) == 0 {
		return out, err
	}
	return s.t.Seal(reply, out)
}

// newSecureSession wraps inner (may be nil) over t.
func newSecureSession(t contract.Transport, inner contract.Session) contract.Session {
	s := &secureSession{t: t}
	if inner == nil {
		return s
	}
	s.in = &innerSession{s: inner}
	s.in.open, _ = inner.(contract.Opener)
	s.in.seal, _ = inner.(contract.Sealer)
	if tk, ok := inner.(contract.Ticker); ok {
		return &secureTicker{secureSession: s, tick: tk}
	}
	return s
}

// sealed seals what inner returned in s.in.buf, appending to out.
func (s *secureSession) sealed(reply, out []byte) ([]byte, error) {
	s.in.buf = reply[:0]
	if len(reply) == 0 {
		return out, nil
	}
	return s.t.Seal(reply, out)
}

func (s *secureSession) Start(out []byte) []byte {
	if s.in == nil {
		return out
	}
	// Sealing fails only on a broken transport, which the first read
	// reports.
	out, _ = s.sealed(s.in.s.Start(s.in.buf[:0]), out)
	return out
}

// Handshake unseals all of in and gives the plaintext to inner's
// handshake; what inner leaves once done is the first input framed. Only
// a conn whose framing has a session is not established at once and
// handshakes.
func (s *secureSession) Handshake(in, out []byte) (int, []byte, bool, error) {
	is := s.in
	plain, err := s.t.Unseal(in, is.plain)
	is.plain = plain
	if err != nil && !errors.Is(err, contract.ErrPeerClosed) {
		return 0, out, false, err
	}
	for len(is.plain) > 0 {
		n, reply, done, herr := is.s.Handshake(is.plain, is.buf[:0])
		if out, err = s.sealed(reply, out); err != nil {
			return 0, out, false, err
		}
		if herr != nil {
			return 0, out, false, herr
		}
		is.plain = is.plain[:copy(is.plain, is.plain[n:])]
		if done {
			return len(in), out, true, nil
		}
		if n == 0 {
			break
		}
	}
	if len(is.plain) > 0 && err != nil {
		return 0, out, false, fmt.Errorf("peer closed mid-handshake")
	}
	return len(in), out, false, err
}

func (s *secureSession) Control(msg contract.Message, out []byte) (bool, []byte, error) {
	if s.in == nil {
		return false, out, nil
	}
	ctl, reply, err := s.in.s.Control(msg, s.in.buf[:0])
	out, serr := s.sealed(reply, out)
	if err == nil {
		err = serr
	}
	return ctl, out, err
}

func (s *secureSession) Close(out []byte) []byte { return s.lastWords(out, false) }

// Leave is Close when the router stops: inner's Leave, if it has one
// (wss: 1001), then close_notify.
func (s *secureSession) Leave(out []byte) []byte { return s.lastWords(out, true) }

func (s *secureSession) lastWords(out []byte, leaving bool) []byte {
	if s.in != nil {
		if l, ok := s.in.s.(contract.Leaver); ok && leaving {
			out, _ = s.sealed(l.Leave(s.in.buf[:0]), out)
		} else {
			out, _ = s.sealed(s.in.s.Close(s.in.buf[:0]), out)
		}
	}
	return s.t.CloseNotify(out)
}

// Unseal gives the plaintext inner's handshake left, then in's.
func (s *secureSession) Unseal(in, out []byte) ([]byte, error) {
	is := s.in
	if is == nil || is.open == nil {
		if is != nil && len(is.plain) > 0 {
			out = append(out, is.plain...)
			is.plain = is.plain[:0]
		}
		return s.t.Unseal(in, out)
	}
	// TLS's plaintext, after what the handshake left, is inner's input.
	tp, err := s.t.Unseal(in, is.plain)
	is.plain = tp[:0]
	if err != nil && !errors.Is(err, contract.ErrPeerClosed) {
		return out, err
	}
	out, ierr := is.open.Unseal(tp, out)
	if ierr != nil {
		return out, ierr
	}
	return out, err
}

// UndoSeal passes the loss of the last sealed batch on to inner, if its
// sealing has effects to undo (contract.SealUndoer).
func (s *secureSession) UndoSeal() {
	if s.in == nil {
		return
	}
	if u, ok := s.in.seal.(contract.SealUndoer); ok {
		u.UndoSeal()
	}
}

// Seal seals plain with inner's protocol, if it seals, then with TLS.
func (s *secureSession) Seal(plain, out []byte) ([]byte, error) {
	if s.in == nil || s.in.seal == nil {
		return s.t.Seal(plain, out)
	}
	enc, err := s.in.seal.Seal(plain, s.in.msgs[:0])
	s.in.msgs = enc[:0]
	if err != nil {
		return out, err
	}
	return s.t.Seal(enc, out)
}

// openSessionOver gives c, just secured by t, its session: the framing's
// own (if it has one) inside one that seals. Without a framing session it
// is established at once, and what the handshake read past its end is
// c's first input.
func (m *Machine) openSessionOver(c *conn, t contract.Transport) {
	s := m.newSession(c)
	var inner contract.Session
	if c.terms.sess != nil {
		inner = m.framingSession(c, s)
	}
	m.setSession(c, s, newSecureSession(t, inner))
	m.warmUse(c) // its handshake just built its transport's state
	s.done = inner == nil
	if b := t.Leftover(); b != nil {
		s.hold().early = b
	}
	m.ctlOut(c, s.s.Start(nil))
}

// takeEarly makes what c's handshake read past its end c's input, as a
// read would: the reader takes it before it asks its port for more.
func (m *Machine) takeEarly(c *conn) {
	s := c.sess
	b := s.held.early
	s.held.early = nil
	if s.held.broken == nil {
		s.held = nil
	}
	m.counters[c.ep].BytesIn += uint64(len(b))
	c.stampRead()
	if c.opening() != nil {
		m.unseal(c, b)
		return
	}
	m.appendInput(c, b)
}

// peerClosed notes that c's peer closed its secure channel in words
// (close_notify): once what came before is framed, the reader meets the
// end of its input without another read.
func (m *Machine) peerClosed(c *conn) {
	c.sess.eof = true
}

// lastWordsUnheard reports whether a write to d failed only because its
// peer, having closed its secure channel in words (close_notify), closed
// its socket too before d's own close_notify went out (on a unix socket
// the write fails at once): nothing else was left to send, so the end is
// orderly, not an error. The last words are let go.
func (m *Machine) lastWordsUnheard(d *conn, err syscall.Errno) bool {
	s := d.sess
	if s == nil || !s.eof || !s.bye || d.queued() > 0 || err != unix.EPIPE && err != unix.ECONNRESET {
		return false
	}
	s.ctl, s.ctlSent = s.ctl[:0], 0
	return true
}

// truncated fails c, whose stream ended without its peer closing the
// secure channel: an attacker (or a broken peer) cut it, and what it
// carried may be incomplete, so it is not taken for an end of input.
func (m *Machine) truncated(c *conn) {
	m.secureFailed(c, &contract.SecureError{Reason: contract.SecureTruncated, Err: errors.New("the stream ended without close_notify")})
}
