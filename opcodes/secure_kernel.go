package opcodes

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/contract"
)

// Kernel TLS: a secured conn whose Transport is a contract.KernelRecords
// had its keys handed to the socket after the handshake. From then on it
// is driven as a plain stream: no secureSession, so recv, send, splice and
// cut-through work as for plain TCP (the kernel seals what is written and
// opens what is read). What stays with the loop:
//
//   - The plaintext the handshake read past its end, the reader's first
//     input (kernelTLS.early), as takeEarly does for the loop's records.
//   - A read that fails with EIO (recv) or EINVAL (splice) met a record that is
//     not application data: ControlRecord reads it on the loop (one
//     non-blocking recvmsg) and says what it meant. close_notify is the
//     end of input; an alert or a refused key update fails the conn,
//     counted by reason; a ticket or a followed key update lets the read
//     go on. EBADMSG and EMSGSIZE are the kernel's bad records.
//   - The end of the stream without close_notify is a truncation, as on
//     the loop's path.
//   - close_notify goes out (one non-blocking sendmsg) before the write
//     side is shut, or as the conn closes where that cuts no message.

// kernelTLS is a kernel-TLS conn's state beside it.
type kernelTLS struct {
	t     contract.KernelRecords
	early []byte // plaintext the handshake read past its end; nil once taken
	bye   bool   // close_notify sent, or given up
	empty int    // control reads in a row that found nothing: bounded
}

// maxEmptyControl bounds control reads in a row that find no record: a
// kernel that kept failing reads with EIO with nothing to read would
// otherwise spin the loop.
const maxEmptyControl = 8

// kernelSecured counts which path c's records take and, for the kernel's,
// makes c a plain stream with its framing's own session (if any). It
// reports whether it did; otherwise the loop seals (openSessionOver).
func (m *Machine) kernelSecured(c *conn, t contract.Transport) bool {
	kt, ok := t.(contract.KernelRecords)
	if !ok {
		m.counters[c.ep].TLSUserspace++
		return false
	}
	m.counters[c.ep].TLSKernel++
	c.bulkState().ktls = &kernelTLS{t: kt}
	if b := kt.Leftover(); len(b) > 0 {
		c.kernelTLS().early = b
	}
	m.openSession(c)
	return true
}

// awaitSecuredPeer parks c at its splice while its peer is a TLS conn
// whose handshake has not ended: only then is it known whether the
// kernel seals the peer's records (c may splice to it) or the loop does
// (c copies). The peer's secured wakes c (wakeSplicer).
func (m *Machine) awaitSecuredPeer(c *conn) bool {
	p := c.peer
	if p == nil || p.terms.secure == nil || p.kernelTLS() != nil || !p.connecting() || c.bulk.noSplice {
		return false
	}
	c.bulk.awaitPeer = true
	return true
}

// wakeSplicer resumes the reader of c's peer if it waits at its splice
// for c's handshake.
func (m *Machine) wakeSplicer(c *conn) {
	if p := c.peer; p != nil && p.bulk != nil && p.bulk.awaitPeer {
		p.bulk.awaitPeer = false
		m.wake = append(m.wake, connRef{c: p, gen: p.gen})
	}
}

// sealsOnLoop reports whether c's bytes must pass its session to be
// sealed: a TLS conn, unless the kernel seals its records. Until its
// handshake is done a TLS conn has neither session nor kernel keys, and
// its bytes must not go out plain.
func (c *conn) sealsOnLoop() bool { return c.terms.secure != nil && c.kernelTLS() == nil }

// takeKernelEarly makes what c's handshake read past its end c's input.
func (m *Machine) takeKernelEarly(c *conn) {
	b := c.kernelTLS().early
	c.kernelTLS().early = nil
	m.kernelInput(c, b)
}

// spliceKernelEarly puts what c's handshake read past its end into c's
// splice pipe, as a splice in would have, so that a bridge goes on
// splicing after it (its copying program never returns to the splice).
// Bytes the pipe cannot take at once go the copying way instead.
func (m *Machine) spliceKernelEarly(c *conn, in *Inst) (parked bool) {
	b := c.kernelTLS().early
	if len(b) > c.bulk.pipeCap {
		c.rpc = in.Arg // OpRecv takes them (takeKernelEarly)
		return false
	}
	n, err := unix.Write(c.bulk.pipe[1], b)
	if err != nil || n <= 0 {
		c.rpc = in.Arg // OpRecv takes them
		return false
	}
	// A pipe that took part (it should not: it is empty and large
	// enough) gets the rest at the next splice.
	c.kernelTLS().early = b[n:]
	if n == len(b) {
		c.kernelTLS().early = nil
	}
	c.stampRead()
	c.recvPending = true // as for a splice in; splicedIn takes it back
	m.splicedIn(c, &completion.Completion{Kind: completion.KindSpliceIn, N: n})
	return true
}

// kernelInput is plaintext the kernel path read outside a port's read.
func (m *Machine) kernelInput(c *conn, b []byte) {
	m.counters[c.ep].BytesIn += uint64(len(b))
	c.stampRead()
	if c.opening() != nil {
		m.unseal(c, b)
		return
	}
	m.appendInput(c, b)
}

// kernelRead is what a failed read of a kernel-TLS conn came to.
type kernelRead uint8

const (
	kernelAbsorbed kernelRead = iota // a ticket, a key update: read on
	kernelData                       // plaintext became c's input
	kernelEnd                        // close_notify: the end of input
	kernelFailed                     // c failed, counted
)

// kernelReadFailed handles a read of c (recv or splice) that failed with
// err.
func (m *Machine) kernelReadFailed(c *conn, err syscall.Errno) kernelRead {
	switch err {
	case unix.EIO:
	case unix.EBADMSG, unix.EMSGSIZE, unix.EINVAL, unix.EKEYEXPIRED:
		m.secureFailed(c, kernelErrnoError(err))
		return kernelFailed
	default:
		m.fail(c, DropDisconnect, err)
		return kernelFailed
	}
	plain, cerr := c.kernelTLS().t.ControlRecord(c.fd)
	switch {
	case errors.Is(cerr, contract.ErrPeerClosed):
		return kernelEnd
	case cerr != nil:
		m.secureFailed(c, cerr)
		return kernelFailed
	case len(plain) > 0:
		c.kernelTLS().empty = 0
		m.kernelInput(c, plain)
		return kernelData
	}
	if c.kernelTLS().empty++; c.kernelTLS().empty > maxEmptyControl {
		m.secureFailed(c, &contract.SecureError{Reason: contract.SecureBadRecord,
			Err: errors.New("kernel TLS: reads keep failing with EIO and no record can be read")})
		return kernelFailed
	}
	return kernelAbsorbed
}

// kernelRecv resumes c's reader after its recv failed with err.
func (m *Machine) kernelRecv(c *conn, cp *completion.Completion, in *Inst) {
	if cp.Buf != nil {
		m.port.Release(cp.Buf)
	}
	m.kernelResume(c, cp.Err, in.Out, in)
}

// kernelSplicedIn resumes c's reader after its splice failed with err:
// plaintext a control read found goes the copying way (in.Arg). The
// kernel's splice refuses a record that is not data with EINVAL, where
// recv says EIO (net/tls: splice reads no control messages); a socket
// with kernel TLS always splices into a pipe otherwise, so EINVAL is
// that record, read like any other, and splicing goes on after it.
func (m *Machine) kernelSplicedIn(c *conn, err syscall.Errno, in *Inst) {
	if err == unix.EINVAL {
		err = unix.EIO
	}
	m.kernelResume(c, err, in.Arg, in)
}

// kernelResume reads the control record behind a failed read and goes
// on at data when it held plaintext, at in.Alt at the end of input.
func (m *Machine) kernelResume(c *conn, err syscall.Errno, data uint32, in *Inst) {
	switch m.kernelReadFailed(c, err) {
	case kernelFailed:
		return
	case kernelData:
		c.rpc = data
	case kernelEnd:
		if c.terms.ignoreEOF {
			c.readDone = true
			return
		}
		c.rpc = in.Alt
	}
	m.run(c)
}

// kernelBye sends c's close_notify once, where it cannot cut a message
// short: nothing being written, nothing half written.
func (m *Machine) kernelBye(c *conn) {
	k := c.kernelTLS()
	if k == nil || k.bye || c.fd < 0 || c.sending || c.out.written != c.out.first || c.shut == shutDone ||
		c.peer != nil && c.peer.spliceOut() { // a splice into c is under way
		return
	}
	k.bye = true
	if err := k.t.SendCloseNotify(c.fd); err != nil {
		m.log.Debug("close_notify not sent", "endpoint", m.prog.Endpoints[c.ep], "err", err)
	}
}

// kernelErrnoError names what the kernel refused in a read.
func kernelErrnoError(err syscall.Errno) error {
	r := contract.SecureBadRecord // EBADMSG: does not open; EMSGSIZE: too long; EINVAL: another version
	if err == unix.EKEYEXPIRED {
		r = contract.SecureKernelRekey // a key update the kernel was not given keys for
	}
	return &contract.SecureError{Reason: r, Err: errors.New("kernel TLS read: " + err.Error())}
}
