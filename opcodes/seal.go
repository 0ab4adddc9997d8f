package opcodes

import (
	"errors"
	"fmt"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/contract"
)

// Sealing: a session that is a contract.Sealer (ZMTP's CURVE, TLS) wraps
// every byte once its handshake is done; one that is only a
// contract.Opener (WebSocket) decodes its input so, and its output goes
// as the framing encoded it. Input is unsealed as it is read, before
// framing: the plaintext becomes c.cur, as a port buffer would, and a
// partial message in it is carried in c.in as usual. Output is sealed a
// batch at a time, when a write is about to start: the queue's next whole
// messages (up to sealBatch bytes, at least one) are copied out and
// sealed into sealing.wire; they stay queued, not droppable, until all of
// wire is written, and are then consumed whole (MsgsOut), so the counts
// stay those of plaintext messages and no message is half sent and half
// dropped. BytesOut counts the sealed bytes, as they are what is written.
//
// Order matters to the peer (each sealed unit's nonce must grow), and the
// session seals its control output itself as it returns it: ctlFirst is
// how much of the control output was sealed before the batch and must go
// ahead of it; the rest waits until the batch is written.

// sealBatch bounds the bytes of messages sealed for one write: about what
// a socket takes at once, so a slow peer holds little sealed.
const sealBatch = 64 << 10

// sealing is a sealed conn's state beside its session. An Opener that
// does not seal (WebSocket) has only the input's: every idle WebSocket
// connection holds one, and the output's would be dead weight there.
type sealing struct {
	o  contract.Opener // unseals input
	in []byte          // plaintext of the last read (c.cur may point into it)
	// The output's, for a Sealer (session.seals), made by its first write
	// and let go when it rests with no batch under way: an idle sealing
	// conn holds none. nil for an Opener that does not seal.
	*sealOut
}

// sealOut is a Sealer's output state.
type sealOut struct {
	plain    []byte // the batch's messages, copied out of the queue
	wire     []byte // the batch sealed; wire[sent:] is still to write
	sent     int
	covers   int // queued bytes the batch holds
	ctlFirst int // control output bytes sealed before the batch
}

// newSealing makes the sealing of a session that is an Opener.
func newSealing(o contract.Opener) *sealing { return &sealing{o: o} }

// covering is how many queued bytes z's batch holds (0: none under way).
func (z *sealing) covering() int {
	if z.sealOut == nil {
		return 0
	}
	return z.covers
}

// keepSealing is the capacity up to which sealing's buffers are kept for
// the next read or batch.
const keepSealing = 4 * completion.BufSize

// unseal hands b, bytes read once c's handshake is done, to its session,
// and makes the plaintext c's input to frame. It may fail c.
func (m *Machine) unseal(c *conn, b []byte) {
	z := c.sess.seal
	m.warmUse(c)
	if cap(z.in) > keepSealing {
		z.in = nil
	}
	plain, err := z.o.Unseal(b, z.in[:0])
	z.in = plain[:0]
	if errors.Is(err, contract.ErrPeerClosed) {
		c.sess.eof, err = true, nil // the reader meets it after plain
	}
	if err != nil && len(plain) > 0 {
		// What arrived whole before the fault is framed and delivered;
		// the reader fails c when it would read again.
		c.sess.hold().broken, err = err, nil
	}
	if err != nil {
		m.unsealFailed(c, err)
		return
	}
	if len(c.in) == 0 {
		c.cur = plain
	} else {
		m.appendInput(c, plain)
	}
}

// unsealFailed fails c for what its session could not unseal.
func (m *Machine) unsealFailed(c *conn, err error) {
	if c.terms.secure != nil {
		m.secureFailed(c, err) // counted by reason
		return
	}
	m.sessionFailed(c, "unseal", err)
}

// unsealRest unseals what followed the handshake in c's last read.
func (m *Machine) unsealRest(c *conn) {
	rest := c.cur
	c.cur = nil
	c.in = c.in[:0] // rest may be in it: Unseal copies before anything reuses it
	m.unseal(c, rest)
}

// sealedIOV appends the bytes of d's next write: control output sealed
// before the batch, then the batch, sealing the next one if none is under
// way.
func (m *Machine) sealedIOV(d *conn, dst [][]byte) [][]byte {
	s, z := d.sess, d.sess.seal
	s.ctlSent = 0
	if z.sealOut == nil {
		z.sealOut = &sealOut{}
	}
	if len(z.wire) == 0 {
		m.sealNext(d, z)
		z.ctlFirst = len(s.ctl)
	}
	if z.sent == 0 && z.ctlFirst > 0 {
		dst = append(dst, s.ctl[:z.ctlFirst])
		s.ctlSent = z.ctlFirst
	}
	if len(z.wire) > z.sent {
		return append(dst, z.wire[z.sent:])
	}
	if len(s.ctl) > 0 && s.ctlSent == 0 {
		// No batch: control output alone (sealed after any batch was).
		dst = append(dst, s.ctl)
		s.ctlSent = len(s.ctl)
	}
	return dst
}

// sealNext seals the queue's next whole messages into z.wire.
func (m *Machine) sealNext(d *conn, z *sealing) {
	q := &d.out
	ends := q.live()
	if len(ends) == 0 {
		return
	}
	k := 0
	for k+1 < len(ends) && ends[k+1]-q.written <= sealBatch {
		k++
	}
	n := ends[k] - q.written
	m.warmUse(d)
	if cap(z.plain) > keepSealing && n <= keepSealing {
		z.plain, z.wire = nil, nil
	}
	z.plain = q.gather(z.plain[:0], n)
	wire, err := d.sess.s.(contract.Sealer).Seal(z.plain, z.wire[:0])
	if err != nil {
		m.sessionFailed(d, "seal", fmt.Errorf("sealing %d queued bytes: %w", n, err))
		return
	}
	z.wire, z.sent, z.covers = wire, 0, n
}

// wroteSealed accounts n bytes of d's batch written; a batch written
// whole consumes its messages from the queue.
func (m *Machine) wroteSealed(c *conn, z *sealing, n int) {
	z.sent += n
	m.counters[c.ep].BytesOut += uint64(n)
	if z.sent < len(z.wire) {
		return
	}
	done := c.out.consume(&m.chunks, z.covers)
	m.counters[c.ep].Queued -= int64(z.covers)
	m.counters[c.ep].MsgsOut += uint64(done)
	m.counters[c.ep].QueuedMsgs -= int64(done)
	z.wire, z.sent, z.covers = z.wire[:0], 0, 0
}

// sealed is c's sealing once its handshake is done, if its output is
// sealed; nil otherwise.
func (c *conn) sealed() *sealing {
	if z := c.opening(); z != nil && c.sess.seals {
		return z
	}
	return nil
}

// opening is c's sealing once its handshake is done, which unseals its
// input (an Opener's, a Sealer's); nil otherwise.
func (c *conn) opening() *sealing {
	if c.sess == nil || !c.sess.done {
		return nil
	}
	return c.sess.seal
}

// busy is how many of c's queued bytes a write has taken and no drop may
// touch: a port send's, or a sealed batch's.
func (c *conn) busy() int {
	if z := c.sealed(); z != nil && z.covering() > c.inflight {
		return z.covers
	}
	return c.inflight
}

// gather appends the queue's first n bytes to dst.
func (q *outQueue) gather(dst []byte, n int) []byte {
	for i := q.head; i < len(q.segs) && n > 0; i++ {
		b := q.segs[i].b
		if len(b) > n {
			b = b[:n]
		}
		dst = append(dst, b...)
		n -= len(b)
	}
	return dst
}
