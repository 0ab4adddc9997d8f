package endpoints

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"unique"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints/tlsrecord"
)

// Kernel TLS: after the handshake, a TCP connection whose suite the
// kernel carries gets its keys and sequence numbers in the socket
// (TCP_ULP "tls", then TLS_TX and TLS_RX), and the loop drives it as a
// plain stream: recv, send, splice and sendfile stay zero-copy, and the
// kernel seals and opens the records. Where the kernel cannot (no
// CONFIG_TLS, a suite it lacks, a record cut short at the handover) the
// connection goes to the record layer on the loop as before; the
// endpoint counts which path each connection took.

// kernelHandover tries to hand rc's records to the kernel after a
// handshake that agreed s; leftover are the wire bytes read past it. ok
// false: the kernel did not take them and the socket is as it was (the
// caller seals on the loop); ok true with an error: the kernel took the
// transmit keys but not the receive keys, and the connection cannot go
// on either way.
func kernelHandover(nc net.Conn, s tlsrecord.Secrets, leftover []byte, described string) (t contract.Transport, ok bool, err error) {
	rec, err := tlsrecord.New(s)
	if err != nil {
		return nil, false, nil // the loop's record layer says why
	}
	var early []byte
	if len(leftover) > 0 {
		// Records that came with the handshake's last: opened here, so
		// the kernel starts at the next. One cut short, or a failure,
		// stays with the loop's record layer, which reads the rest.
		// So does a key update the peer asked for there: the loop's
		// record layer answers it before its first record.
		if early, err = rec.Open(leftover, nil); err != nil || rec.Holding() || rec.KeyUpdateOwed() {
			return nil, false, nil
		}
	}
	rk, wk := rec.ReadKeys(), rec.WriteKeys()
	kc, known := kernelCipherOf(wk)
	if !known {
		return nil, false, nil
	}
	suite := kernelSuiteKey(wk.Version, kc)
	if _, refused := kernelRefusals.Load(suite); refused {
		return nil, false, nil
	}
	tx, err := kernelCryptoInfo(wk)
	if err != nil {
		return nil, false, nil
	}
	defer clear(tx)
	rx, err := kernelCryptoInfo(rk)
	if err != nil {
		return nil, false, nil
	}
	defer clear(rx)
	sc, isSys := nc.(syscall.Conn)
	if !isSys {
		return nil, false, nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, false, nil
	}
	var step string
	var serr error
	if cerr := raw.Control(func(fd uintptr) {
		// The dup and the machine's fd are one socket: what is set here
		// holds for the loop's descriptor.
		if serr = setULP(int(fd)); serr != nil {
			step = "ulp"
			return
		}
		if serr = setCryptoInfo(int(fd), tlsTX, tx); serr != nil {
			step = "tx"
			return
		}
		if serr = setCryptoInfo(int(fd), tlsRX, rx); serr != nil {
			step = "rx"
		}
	}); cerr != nil {
		return nil, false, nil
	}
	switch step {
	case "ulp":
		// This connection only (its peer gone already, say): the probe
		// said the kernel has the ULP.
		return nil, false, nil
	case "tx":
		// A suite this kernel lacks. A ULP without keys passes bytes as
		// they are, so the loop's record layer can still take over.
		kernelRefusals.Store(suite, serr)
		return nil, false, nil
	case "rx":
		kernelRefusals.Store(suite, serr)
		return nil, true, &contract.SecureError{Reason: contract.SecureKernelRekey,
			Err: fmt.Errorf("kernel TLS took the transmit keys but refused the receive keys: %w", serr)}
	}
	return &kernelTransport{rec: rec, early: early, described: unique.Make(described + " kernel-tls")}, true, nil
}

func setCryptoInfo(fd, dir int, info []byte) error {
	err := unix.SetsockoptString(fd, solTLS, dir, string(info))
	if err == nil {
		return nil
	}
	name := "TLS_TX"
	if dir == tlsRX {
		name = "TLS_RX"
	}
	return fmt.Errorf("setsockopt SOL_TLS %s: %w", name, err)
}

// kernelTransport is a connection whose records the kernel seals and
// opens (contract.KernelRecords). It keeps the record layer's state for
// what the kernel leaves to user space: post-handshake messages, alerts,
// and the secrets a key update derives the next keys from.
type kernelTransport struct {
	rec       *tlsrecord.Conn
	early     []byte // plaintext of the records read past the handshake
	described unique.Handle[string]
}

// Seal and Unseal pass bytes as they are: the kernel seals and opens
// them. The machine does not call them on this transport; they are here
// so that a caller that did would not double-seal.
func (t *kernelTransport) Seal(plain, out []byte) ([]byte, error)  { return append(out, plain...), nil }
func (t *kernelTransport) Unseal(wire, out []byte) ([]byte, error) { return append(out, wire...), nil }

func (t *kernelTransport) Leftover() []byte {
	b := t.early
	t.early = nil
	return b
}

// CloseNotify appends nothing: the kernel seals what is written, and
// close_notify goes as an alert record (SendCloseNotify).
func (t *kernelTransport) CloseNotify(out []byte) []byte { return out }
func (t *kernelTransport) Described() string             { return t.described.Value() }

// maxControlRecord is the plaintext of the largest record: a control
// record's read never needs more.
const maxControlRecord = 1 << 14

// ControlRecord reads the record a plain read refused (EIO: not
// application data) with recvmsg and its record type, and acts on it as
// the loop's record layer would (contract.KernelRecords).
func (t *kernelTransport) ControlRecord(fd int) ([]byte, error) {
	buf := make([]byte, maxControlRecord)
	oob := make([]byte, unix.CmsgSpace(1))
	n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_DONTWAIT)
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return nil, nil // the read is tried again
	case err != nil:
		return nil, kernelReadError(err)
	}
	typ, ok := recordType(oob[:oobn])
	if !ok || typ == tlsTypeApplicationData {
		return buf[:n], tlsTransportError(t.rec.Absorb(tlsTypeApplicationData, buf[:n]))
	}
	before := t.rec.ReadKeys().Key
	if err := t.rec.Absorb(typ, buf[:n]); err != nil {
		return nil, tlsTransportError(err)
	}
	if after := t.rec.ReadKeys(); string(after.Key) != string(before) {
		if err := t.rekey(fd, tlsRX, after, "the peer's key update"); err != nil {
			return nil, err
		}
	}
	msg, owed, err := t.rec.AnswerKeyUpdate()
	switch {
	case err != nil:
		return nil, &contract.SecureError{Reason: contract.SecureKernelRekey, Err: err}
	case owed:
		// Ours goes under the old write keys; then the kernel takes the
		// new ones for what follows.
		if err := sendRecord(fd, tlsTypeHandshake, msg); err != nil {
			return nil, &contract.SecureError{Reason: contract.SecureKernelRekey, Err: fmt.Errorf("our KeyUpdate: %w", err)}
		}
		if err := t.rekey(fd, tlsTX, t.rec.WriteKeys(), "our key update"); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// rekey gives the kernel a direction's next keys; a kernel that cannot
// rekey TLS 1.3 (before Linux 6.14) refuses, and the connection ends.
func (t *kernelTransport) rekey(fd, dir int, k tlsrecord.Keys, what string) error {
	info, err := kernelCryptoInfo(k)
	if err == nil {
		err = setCryptoInfo(fd, dir, info)
		clear(info)
	}
	if err != nil {
		return &contract.SecureError{Reason: contract.SecureKernelRekey,
			Err: fmt.Errorf("this kernel cannot rekey kernel TLS for %s (%w); the connection is closed", what, err)}
	}
	return nil
}

// SendCloseNotify sends close_notify as an alert record the kernel seals.
func (t *kernelTransport) SendCloseNotify(fd int) error {
	return sendRecord(fd, tlsTypeAlert, []byte{1, 0}) // warning, close_notify
}

// kernelReadError is a failed read of a kernel TLS socket as a reason:
// the kernel's word for a record that does not open or does not fit.
func kernelReadError(err error) error {
	switch {
	case errors.Is(err, unix.EBADMSG), errors.Is(err, unix.EMSGSIZE), errors.Is(err, unix.EINVAL):
		return &contract.SecureError{Reason: contract.SecureBadRecord, Err: fmt.Errorf("kernel TLS: %w", err)}
	case errors.Is(err, unix.EKEYEXPIRED):
		return &contract.SecureError{Reason: contract.SecureKernelRekey, Err: fmt.Errorf("kernel TLS waits for keys: %w", err)}
	}
	return &contract.SecureError{Reason: contract.SecureBadRecord, Err: fmt.Errorf("kernel TLS recvmsg: %w", err)}
}

var (
	_ contract.KernelRecords = (*kernelTransport)(nil)
)
