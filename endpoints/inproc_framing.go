package endpoints

import (
	"encoding/binary"
	"fmt"

	"github.com/pxroute/pxroute/contract"
)

// Inproc is the framing of in-process connections: what the router and
// Go code attached to an inproc endpoint write to each other. A message
// is one or more parts, each a 4-byte little-endian header (the part's
// length, with inprocMore set on every part but the last) and its bytes.
// Nothing but this package and the router's attach writes it, yet a
// misbehaving writer is refused like a peer: a part over max_frame closes
// the connection.
var Inproc contract.Framing = inprocFraming{}

// InprocParts is Inproc's Multipart, for the router's attaches.
var InprocParts contract.Multipart = inprocFraming{}

const (
	inprocHeader = 4
	inprocMore   = 1 << 31
	// InprocMaxPart is the largest part the header can state.
	InprocMaxPart = inprocMore - 1
)

type inprocFraming struct{}

func (inprocFraming) Name() string     { return "inproc" }
func (inprocFraming) Boundaries() bool { return true }

func (f inprocFraming) Split(b []byte, max int) (wire, start, end int, err error) {
	var one [1]contract.Part
	wire, parts, err := f.SplitParts(b, max, one[:0])
	if wire == 0 || err != nil {
		return wire, 0, 0, err
	}
	return wire, parts[0].Lo, parts[0].Hi, nil
}

func (inprocFraming) SplitParts(b []byte, max int, parts []contract.Part) (int, []contract.Part, error) {
	at := 0
	first := len(parts)
	for {
		if len(b)-at < inprocHeader {
			return 0, parts[:first], nil
		}
		h := binary.LittleEndian.Uint32(b[at:])
		n := int(h &^ inprocMore)
		lo := at + inprocHeader
		if lo+n > max { // max_frame bounds the whole message, headers too
			return 0, parts[:first], fmt.Errorf("message over max_frame (%d bytes, headers included)", max)
		}
		if len(b) < lo+n {
			return 0, parts[:first], nil
		}
		parts = append(parts, contract.Part{Lo: lo, Hi: lo + n})
		at = lo + n
		if h&inprocMore == 0 {
			return at, parts, nil
		}
	}
}

// Encode writes a payload of several slices as one part.
func (inprocFraming) Encode(hdr []byte, payload [][]byte) (head, tail []byte) {
	binary.LittleEndian.PutUint32(hdr[:inprocHeader], uint32(payloadLen(payload)))
	return hdr[:inprocHeader], nil
}

// Capped: one part's length must fit its header.
func (inprocFraming) MaxPayload() int { return InprocMaxPart }

func (inprocFraming) EncodeParts(hdr []byte, segs [][]byte, payload [][]byte) ([]byte, [][]byte) {
	return EncodeInproc(hdr, segs, payload)
}

// EncodeInproc is the inproc framing's EncodeParts, callable without an
// interface: payload does not escape, so a caller's variadic parts stay
// on its stack.
func EncodeInproc(hdr []byte, segs [][]byte, payload [][]byte) ([]byte, [][]byte) {
	for i, p := range payload {
		h := uint32(len(p))
		if i < len(payload)-1 {
			h |= inprocMore
		}
		at := len(hdr)
		hdr = binary.LittleEndian.AppendUint32(hdr, h)
		segs = append(segs, hdr[at:len(hdr):len(hdr)], p)
	}
	return hdr, segs
}

// AppendInproc appends msg, its parts in order, in the inproc framing.
func AppendInproc(dst []byte, msg [][]byte) []byte {
	if len(msg) == 0 {
		return binary.LittleEndian.AppendUint32(dst, 0) // one empty part
	}
	for i, p := range msg {
		h := uint32(len(p))
		if i < len(msg)-1 {
			h |= inprocMore
		}
		dst = binary.LittleEndian.AppendUint32(dst, h)
		dst = append(dst, p...)
	}
	return dst
}
