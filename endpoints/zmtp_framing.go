package endpoints

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pxroute/pxroute/contract"
)

// ZMTP 3.x frames (RFC 23, 37): a flags byte, a size of 1 byte or, with
// LONG, 8 bytes big-endian, then the body. A message is frames until one
// without MORE; a COMMAND frame is a command on its own, never part of a
// message.
const (
	zmtpMore    = 0x01
	zmtpLong    = 0x02
	zmtpCommand = 0x04
	zmtpFlags   = zmtpMore | zmtpLong | zmtpCommand
)

// DefaultZMTPMaxParts bounds the frames of one message unless max_parts
// says otherwise. Real ZeroMQ messages carry a few parts (a routing
// envelope, a delimiter, a topic, a body); 64 leaves room for deep
// envelopes while each part costs the machine a Part and a header, so a
// peer cannot make one message of a million empty frames.
const DefaultZMTPMaxParts = 64

var (
	errZMTPLongSize    = errors.New("zmtp: frame size of 2^63 bytes or more")
	errZMTPFlags       = errors.New("zmtp: reserved frame flag bits set")
	errZMTPCommandMore = errors.New("zmtp: command frame with MORE set")
	errZMTPCommandIn   = errors.New("zmtp: command frame inside a multipart message")
)

// zmtpFraming is framing: zmtp on one endpoint: its socket type and the
// limits its sessions apply.
type zmtpFraming struct {
	socket    zmtpSocket
	maxParts  int
	subscribe []string      // sent by sub and xsub on every (re)connect
	maxFrame  int           // the endpoint's max_frame, for the handshake
	heartbeat zmtpHeartbeat // PINGs and their timeouts (zmtp_heartbeat.go)
	// plain or curve: the security mechanism (zmtp_security_config.go);
	// neither is NULL.
	plain *zmtpPlainConfig
	curve *zmtpCurveConfig
}

func (*zmtpFraming) Name() string     { return "zmtp" }
func (*zmtpFraming) Boundaries() bool { return true }

// Directions (contract.Directed): what the socket type lets through.
func (f *zmtpFraming) Directions() (sends, receives bool, why string) {
	t := zmtpSocketTypes[f.socket]
	return t.sends, t.receives, "zmtp socket " + f.socket.String()
}

// zmtpHeader reads the frame header at the start of b: its flags, the
// header's length and the body's size; hdr 0 means more bytes are needed.
func zmtpHeader(b []byte) (flags byte, hdr int, size uint64, err error) {
	if len(b) < 1 {
		return 0, 0, 0, nil
	}
	flags = b[0]
	if flags&^zmtpFlags != 0 {
		return flags, 0, 0, errZMTPFlags
	}
	if flags&zmtpLong == 0 {
		if len(b) < 2 {
			return flags, 0, 0, nil
		}
		return flags, 2, uint64(b[1]), nil
	}
	if len(b) < 9 {
		return flags, 0, 0, nil
	}
	size = binary.BigEndian.Uint64(b[1:])
	if size >= 1<<63 {
		return flags, 0, 0, errZMTPLongSize
	}
	return flags, 9, size, nil
}

func (f *zmtpFraming) Split(b []byte, max int) (int, int, int, error) {
	var scratch [8]contract.Part
	wire, parts, err := f.SplitParts(b, max, scratch[:0])
	if wire == 0 || err != nil {
		return wire, 0, 0, err
	}
	return wire, parts[0].Lo, parts[0].Hi, nil
}

// SplitParts reads frames until one without MORE. Each size is checked
// against max (which bounds the whole message, headers included) and each
// part against max_parts from its header alone, before its body arrives,
// so nothing is held for a message that will be refused. A command is a
// message of one part that only the session sees.
func (f *zmtpFraming) SplitParts(b []byte, max int, parts []contract.Part) (int, []contract.Part, error) {
	at, n := 0, 0
	for {
		flags, hdr, size, err := zmtpHeader(b[at:])
		if err != nil {
			return 0, parts, err
		}
		if hdr == 0 {
			return 0, parts, nil
		}
		if flags&zmtpCommand != 0 {
			if flags&zmtpMore != 0 {
				return 0, parts, errZMTPCommandMore
			}
			if n > 0 {
				return 0, parts, errZMTPCommandIn
			}
		}
		if uint64(at+hdr)+size > uint64(max) {
			return 0, parts, ErrTooLarge
		}
		if n++; n > f.maxParts {
			return 0, parts, fmt.Errorf("zmtp: message of more than max_parts (%d) parts", f.maxParts)
		}
		end := at + hdr + int(size)
		if end > len(b) {
			return 0, parts, nil
		}
		parts = append(parts, contract.Part{Lo: at + hdr, Hi: end})
		at = end
		if flags&zmtpMore == 0 {
			return at, parts, nil
		}
	}
}

// appendZMTPHeader appends a frame header for a body of size bytes.
func appendZMTPHeader(b []byte, flags byte, size int) []byte {
	if size > 255 {
		b = append(b, flags|zmtpLong)
		return binary.BigEndian.AppendUint64(b, uint64(size))
	}
	return append(b, flags, byte(size))
}

// Encode writes the payload as one frame; a LONG header (9 bytes) does
// not fit the 8 bytes of hdr the contract promises, and is allocated.
func (f *zmtpFraming) Encode(hdr []byte, payload [][]byte) ([]byte, []byte) {
	return appendZMTPHeader(hdr[:0], 0, payloadLen(payload)), nil
}

// EncodeParts writes a frame header before each part.
func (f *zmtpFraming) EncodeParts(hdr []byte, segs [][]byte, payload [][]byte) ([]byte, [][]byte) {
	for i, p := range payload {
		var flags byte
		if i < len(payload)-1 {
			flags = zmtpMore
		}
		at := len(hdr)
		hdr = appendZMTPHeader(hdr, flags, len(p))
		segs = append(segs, hdr[at:len(hdr):len(hdr)], p)
	}
	return hdr, segs
}

// NewSession starts one connection's ZMTP session (contract.Sessioned).
func (f *zmtpFraming) NewSession(role contract.Role) contract.Session {
	return f.session(role, nil, false)
}

// session starts a connection's session with the endpoint's mechanism,
// whatever its socket type: topics takes a pub or xpub peer's
// subscriptions (nil: none), and an xsub's forwards its fan-out's
// (xsub). Under CURVE every byte after the handshake is sealed, so the
// session is one that seals its control output too (zmtp_curve_box.go).
func (f *zmtpFraming) session(role contract.Role, topics contract.Topics, xsub bool) contract.Session {
	s := newZMTPSession(f, role)
	s.topics = topics
	sealed := false
	switch {
	case f.plain != nil && f.plain.users != nil:
		s.mech = &zmtpPlainServer{users: f.plain.users}
	case f.plain != nil:
		s.mech = &zmtpPlainClient{user: f.plain.user, pass: f.plain.pass}
	case f.curve != nil && f.curve.server:
		s.mech, sealed = &zmtpCurveServer{cfg: f.curve}, true
	case f.curve != nil:
		m := &zmtpCurveClient{cfg: f.curve}
		m.box.side(false)
		s.mech, sealed = m, true
	}
	switch {
	case sealed && xsub:
		return &zmtpSealedXSubSession{zmtpSealedSession: &zmtpSealedSession{zmtpSession: s}}
	case sealed:
		return &zmtpSealedSession{zmtpSession: s}
	case xsub:
		return &zmtpXSubSession{zmtpSession: s}
	}
	return s
}

var (
	_ contract.Framing   = (*zmtpFraming)(nil)
	_ contract.Multipart = (*zmtpFraming)(nil)
	_ contract.Sessioned = (*zmtpFraming)(nil)
	_ contract.Directed  = (*zmtpFraming)(nil)
)
