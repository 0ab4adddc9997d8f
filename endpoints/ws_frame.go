package endpoints

import (
	"encoding/binary"
	"errors"
)

// RFC 6455 5.2, the base framing: a byte of FIN, three reserved bits and
// the opcode; a byte of MASK and a 7-bit length, which 126 and 127 extend
// to 16 and 64 bits; a 4-byte masking key where MASK is set; the payload.
const (
	wsFin  = 0x80
	wsRSV  = 0x70
	wsMask = 0x80

	wsOpContinuation = 0x0
	wsOpText         = 0x1
	wsOpBinary       = 0x2
	wsOpClose        = 0x8
	wsOpPing         = 0x9
	wsOpPong         = 0xA

	// wsMaxControl is the most a control frame carries (5.5).
	wsMaxControl = 125
	// wsMaxHeader is the longest header: 2, 8 of length, 4 of key.
	wsMaxHeader = 14
)

// Close status codes (7.4.1) that pxroute sends.
const (
	wsCloseNormal    = 1000
	wsCloseGoingAway = 1001 // a peer silent after our ping; the router stopping
	wsCloseProtocol  = 1002
	wsCloseBadData   = 1007 // text not UTF-8
	wsCloseTooBig    = 1009 // over max_frame
)

var errWSFrame = errors.New("websocket: malformed canonical frame")

// wsControl reports whether op is a control opcode (close, ping, pong).
func wsControl(op byte) bool { return op&0x8 != 0 }

// wsKnownOp reports whether RFC 6455 defines op.
func wsKnownOp(op byte) bool {
	switch op {
	case wsOpContinuation, wsOpText, wsOpBinary, wsOpClose, wsOpPing, wsOpPong:
		return true
	}
	return false
}

// appendWSHeader appends an unmasked header with FIN set: the canonical
// form pxroute's framing splits and encodes.
func appendWSHeader(b []byte, op byte, size int) []byte {
	b = append(b, wsFin|op)
	switch {
	case size <= 125:
		return append(b, byte(size))
	case size <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(size))
	}
	return binary.BigEndian.AppendUint64(append(b, 127), uint64(size))
}

// wsHeaderLen is the length of the header whose first two bytes are b0,
// b1.
func wsHeaderLen(b1 byte) int {
	n := 2
	switch b1 & 0x7F {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&wsMask != 0 {
		n += 4
	}
	return n
}

// wsPayloadLen reads the payload length of the header in h (whole).
func wsPayloadLen(h []byte) uint64 {
	switch n := h[1] & 0x7F; n {
	case 126:
		return uint64(binary.BigEndian.Uint16(h[2:]))
	case 127:
		return binary.BigEndian.Uint64(h[2:])
	default:
		return uint64(n)
	}
}

// splitWSCanonical reads the canonical frame at the start of b: its
// opcode, wire length and payload bounds; wire 0: more bytes are needed.
// max bounds the payload.
func splitWSCanonical(b []byte, max int) (op byte, wire, start int, err error) {
	if len(b) < 2 {
		return 0, 0, 0, nil
	}
	if b[0]&(wsFin|wsRSV) != wsFin || b[1]&wsMask != 0 {
		return 0, 0, 0, errWSFrame
	}
	hl := wsHeaderLen(b[1])
	if len(b) < hl {
		return 0, 0, 0, nil
	}
	n := wsPayloadLen(b)
	if n > uint64(max) {
		return 0, 0, 0, ErrTooLarge
	}
	wire = hl + int(n)
	if len(b) < wire {
		return 0, 0, 0, nil
	}
	return b[0] & 0x0F, wire, hl, nil
}

// wsMaskBytes XORs b with key, starting at key byte pos (5.3), and
// returns the position after it. Eight bytes at a time.
func wsMaskBytes(b []byte, key [4]byte, pos int) int {
	pos &= 3
	if len(b) >= 16 {
		var k [8]byte
		for i := range k {
			k[i] = key[(pos+i)&3]
		}
		kw := binary.LittleEndian.Uint64(k[:])
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^kw)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= key[pos&3]
		pos++
	}
	return pos & 3
}
