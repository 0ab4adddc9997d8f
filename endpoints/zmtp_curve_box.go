package endpoints

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/nacl/box"

	"github.com/pxroute/pxroute/contract"
)

// Once a CURVE handshake is done, every ZMTP frame either way travels as a
// MESSAGE: a frame (flags 0, LONG if need be, as libzmq sends it) whose
// body is "\x07MESSAGE", an 8-byte short nonce that must grow, and
// Box[flags + body](C'->S' or S'->C'), where flags carries the frame's
// MORE (bit 0) and COMMAND (bit 1). The session unseals input into plain
// ZMTP frames for the framing, and seals what goes out (contract.Sealer).

const (
	curveMsgName   = "\x07MESSAGE"
	curveMsgHeader = len(curveMsgName) + 8             // name and short nonce
	curveMsgCost   = curveMsgHeader + box.Overhead + 1 // bytes a frame grows by
	curveBoxMore   = 0x01
	curveBoxCmd    = 0x02
)

var (
	errCurveGarbled = errors.New("zmtp: a CURVE MESSAGE that does not open (garbled or forged)")
	errCurveNotMsg  = errors.New("zmtp: a frame that is not a CURVE MESSAGE after the handshake")
)

// zmtpCurveBox is one connection's MESSAGE state: the short-term keys'
// precomputed secret, each side's nonce prefix and counter.
type zmtpCurveBox struct {
	shared     [32]byte
	sendPrefix string
	recvPrefix string
	sent       uint64 // the last short nonce we used (HELLO, INITIATE or READY, then MESSAGEs)
	peer       uint64 // the peer's last: each MESSAGE's must be greater
	maxFrame   int
	pend       []byte // a MESSAGE cut short at the end of a read
	nonce      [24]byte
}

func newZMTPCurveBox(shared [32]byte, server bool, peer uint64) zmtpCurveBox {
	b := zmtpCurveBox{shared: shared, peer: peer}
	b.side(server)
	return b
}

func (b *zmtpCurveBox) side(server bool) {
	b.sendPrefix, b.recvPrefix = "CurveZMQMESSAGEC", "CurveZMQMESSAGES"
	if server {
		b.sendPrefix, b.recvPrefix = b.recvPrefix, b.sendPrefix
	}
}

// next is the next short nonce to send with.
func (b *zmtpCurveBox) next() uint64 {
	b.sent++
	return b.sent
}

// seal appends each ZMTP frame of plain as a MESSAGE. It overwrites the
// last byte of each frame's header with the box's flags, so that flags
// and body are one slice to seal: plain is a scratch copy, and this saves
// copying every body once more.
func (b *zmtpCurveBox) seal(plain, out []byte) ([]byte, error) {
	for len(plain) > 0 {
		flags, hdr, size, err := zmtpHeader(plain)
		if err == nil && (hdr == 0 || uint64(len(plain)-hdr) < size) {
			err = errors.New("zmtp: sealing a cut frame")
		}
		if err != nil {
			return out, err
		}
		end := hdr + int(size)
		var bf byte
		if flags&zmtpMore != 0 {
			bf |= curveBoxMore
		}
		if flags&zmtpCommand != 0 {
			bf |= curveBoxCmd
		}
		plain[hdr-1] = bf
		out = appendZMTPHeader(out, 0, curveMsgCost+int(size))
		out = append(out, curveMsgName...)
		n := b.next()
		out = binary.BigEndian.AppendUint64(out, n)
		copy(b.nonce[:], b.sendPrefix)
		binary.BigEndian.PutUint64(b.nonce[16:], n)
		out = box.SealAfterPrecomputation(out, plain[hdr-1:end], &b.nonce, &b.shared)
		plain = plain[end:]
	}
	return out, nil
}

// unseal takes all of in: each whole MESSAGE is opened and appended to out
// as a plain ZMTP frame; a MESSAGE cut short is kept for the next call.
// Sizes are checked from each header, before its body is held: a MESSAGE
// whose frame would be over max_frame is refused at once.
func (b *zmtpCurveBox) unseal(in, out []byte) ([]byte, error) {
	if len(b.pend) > 0 {
		b.pend = append(b.pend, in...)
		in = b.pend
	}
	for {
		flags, hdr, size, err := zmtpHeader(in)
		switch {
		case err != nil:
			return out, err
		case hdr == 0:
		case flags&zmtpMore != 0:
			return out, errors.New("zmtp: a CURVE MESSAGE frame with MORE set")
		case size < uint64(curveMsgCost):
			return out, fmt.Errorf("zmtp: a CURVE MESSAGE of %d bytes, under the least (%d)", size, curveMsgCost)
		case size-uint64(curveMsgCost) > uint64(b.maxFrame):
			return out, fmt.Errorf("zmtp: a CURVE MESSAGE of %d bytes, over max_frame (%d)", size, b.maxFrame)
		case uint64(len(in)-hdr) >= size:
			if out, err = b.open(in[hdr:hdr+int(size)], out); err != nil {
				return out, err
			}
			in = in[hdr+int(size):]
			continue
		}
		break
	}
	// Keep the rest: in pend's own storage if it is there already.
	b.pend = append(b.pend[:0], in...)
	if len(b.pend) == 0 && cap(b.pend) > 64<<10 {
		b.pend = nil // an idle connection keeps no large buffer
	}
	return out, nil
}

// open checks one MESSAGE's name and nonce, and appends its plaintext as
// a ZMTP frame: the box opens into out just after room for the frame's
// header, less one byte, where its flags byte lands; that byte is read,
// then the header is written over it.
func (b *zmtpCurveBox) open(m, out []byte) ([]byte, error) {
	if string(m[:len(curveMsgName)]) != curveMsgName {
		return out, errCurveNotMsg
	}
	n := binary.BigEndian.Uint64(m[len(curveMsgName):curveMsgHeader])
	if n <= b.peer {
		return out, fmt.Errorf("zmtp: a CURVE MESSAGE with nonce %d, not above the last (%d): replayed or reordered", n, b.peer)
	}
	body := len(m) - curveMsgCost
	hdr := 2
	if body > 255 {
		hdr = 9
	}
	at := len(out)
	out = append(out, make([]byte, hdr-1)...)
	copy(b.nonce[:], b.recvPrefix)
	binary.BigEndian.PutUint64(b.nonce[16:], n)
	out, ok := box.OpenAfterPrecomputation(out, m[curveMsgHeader:], &b.nonce, &b.shared)
	if !ok {
		return out[:at], errCurveGarbled
	}
	bf := out[at+hdr-1]
	if bf&^(curveBoxMore|curveBoxCmd) != 0 {
		return out[:at], fmt.Errorf("zmtp: a CURVE MESSAGE with reserved flags %#02x", bf)
	}
	var flags byte
	if bf&curveBoxMore != 0 {
		flags |= zmtpMore
	}
	if bf&curveBoxCmd != 0 {
		flags |= zmtpCommand
	}
	appendZMTPHeader(out[at:at], flags, body)
	b.peer = n
	return out, nil
}

// zmtpSealedSession is a ZMTP session whose mechanism seals messages
// (CURVE): it is a contract.Sealer, and seals its own control output once
// established.
type zmtpSealedSession struct {
	*zmtpSession
	box     *zmtpCurveBox
	scratch []byte // control output's plaintext while it is sealed
	sealErr error  // a seal that failed in Subscribe, for Tick to report
}

// sealed is the mechanism's MESSAGE state, once established.
func (s *zmtpSealedSession) sealer() *zmtpCurveBox {
	if s.box == nil {
		switch m := s.mech.(type) {
		case *zmtpCurveServer:
			s.box = &m.box
		case *zmtpCurveClient:
			s.box = &m.box
		}
		s.box.maxFrame = s.f.maxFrame
	}
	return s.box
}

func (s *zmtpSealedSession) Handshake(in, out []byte) (int, []byte, bool, error) {
	n, out, done, err := s.zmtpSession.Handshake(in, out)
	if done && err == nil {
		out, err = s.sealFrom(out, s.sealAt) // the subscriptions after READY
	}
	return n, out, done, err
}

func (s *zmtpSealedSession) Control(msg contract.Message, out []byte) (bool, []byte, error) {
	at := len(out)
	ctl, out, err := s.zmtpSession.Control(msg, out)
	if err == nil {
		out, err = s.sealFrom(out, at)
	}
	return ctl, out, err
}

// sealFrom seals out[at:], frames the session appended in clear.
func (s *zmtpSealedSession) sealFrom(out []byte, at int) ([]byte, error) {
	if len(out) == at {
		return out, nil
	}
	s.scratch = append(s.scratch[:0], out[at:]...)
	return s.sealer().seal(s.scratch, out[:at])
}

// Tick seals the PINGs of heartbeats, and says a seal that failed
// where no error could be returned (Subscribe).
func (s *zmtpSealedSession) Tick(now, lastRead, lastWrite int64, out []byte) ([]byte, error) {
	if s.sealErr != nil {
		return out, s.sealErr
	}
	at := len(out)
	out, err := s.zmtpSession.Tick(now, lastRead, lastWrite, out)
	if err == nil {
		out, err = s.sealFrom(out, at)
	}
	return out, err
}

// zmtpSealedXSubSession is an xsub's session under CURVE: its upstream
// subscriptions are sealed like the rest of its control output.
type zmtpSealedXSubSession struct {
	*zmtpSealedSession
	holds zmtpHolds
}

func (s *zmtpSealedXSubSession) Subscribe(prefix []byte, on bool, out []byte) []byte {
	at := len(out)
	out = s.holds.change(s.zmtpSession, prefix, on, out)
	out, err := s.sealFrom(out, at)
	if err != nil {
		s.sealErr = err // the next tick closes the connection
		return out[:at]
	}
	return out
}

func (s *zmtpSealedSession) Unseal(in, out []byte) ([]byte, error) {
	return s.sealer().unseal(in, out)
}

func (s *zmtpSealedSession) Seal(plain, out []byte) ([]byte, error) {
	return s.sealer().seal(plain, out)
}

var _ contract.Sealer = (*zmtpSealedSession)(nil)
