package endpoints

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// wsError is a protocol error found in a peer's frames, with the close
// code (7.4.1) the connection is failed with.
type wsError struct {
	code uint16
	msg  string
}

func (e *wsError) Error() string { return fmt.Sprintf("websocket: %s (close %d)", e.msg, e.code) }

func wsFail(code uint16, format string, args ...any) *wsError {
	return &wsError{code: code, msg: fmt.Sprintf(format, args...)}
}

// wsDecoder turns a peer's frames into canonical ones (ws_frame.go):
// unmasked, FIN set, a fragmented message reassembled into one frame,
// control frames emitted at once, ahead of the message they interrupt.
// It holds at most one partial header, one control frame's payload and
// the message being reassembled, which max bounds (a frame header that
// would take it over is refused before its payload arrives). An
// unfragmented data frame, the usual kind, is unmasked straight into the
// output as it arrives and not held here at all.
type wsDecoder struct {
	// Words first, bytes after: every idle WebSocket connection holds
	// one, and this order packs it (72 bytes, not 168).
	max  int    // the largest message, bytes
	left uint64 // payload bytes still to come in the frame under way
	// directAt is where in this call's output the direct frame under way
	// began, -1 if it began in an earlier call.
	directAt int
	gath     *wsGathered // allocated by the first frame that is gathered
	err      *wsError    // once failed, for good

	hdr    [wsMaxHeader]byte
	nhdr   uint8
	masked bool // the peer masks (a client's frames); else it must not

	// The frame under way, once its header is read.
	inFrame bool
	op      byte
	fin     bool
	key     [4]byte
	pos     uint8 // where in key the next payload byte is
	direct  bool  // the payload goes straight to the output

	// The fragmented message's opcode, and its text check.
	msgOp byte
	text  wsUTF8
}

// wsGathered is what a decoder gathers across reads: apart, because most
// connections never send a control frame or a fragmented message, and
// every idle one would carry the two slices.
type wsGathered struct {
	ctl []byte // a control frame's payload
	msg []byte // the fragmented message under way (msgOp != 0)
}

// gathered returns d's gathering buffers, allocating them once.
func (d *wsDecoder) gathered() *wsGathered {
	if d.gath == nil {
		d.gath = new(wsGathered)
	}
	return d.gath
}

// msgLen is the length of the fragmented message gathered so far.
func (d *wsDecoder) msgLen() int {
	if d.gath == nil {
		return 0
	}
	return len(d.gath.msg)
}

// keepWSMessage is the reassembly buffer's capacity kept between
// fragmented messages.
const keepWSMessage = 4 << 10

// decode takes all of in and appends to out the canonical frames it
// completes (and the start of an unfragmented data frame under way).
//
// On a protocol error it returns, with the error, only the frames that
// were whole before the fault: those are delivered, and nothing of the
// frame at fault is.
func (d *wsDecoder) decode(in, out []byte) ([]byte, error) {
	if d.err != nil {
		return out, d.err
	}
	callStart := len(out)
	d.directAt = -1
	for len(in) > 0 {
		var err *wsError
		if !d.inFrame {
			in, out, err = d.header(in, out)
		} else {
			k := len(in)
			if uint64(k) > d.left {
				k = int(d.left)
			}
			out, err = d.payload(in[:k], out)
			in = in[k:]
		}
		if err != nil {
			d.err = err
			if d.direct {
				// The frame at fault went out as it arrived: take back
				// what this call gave of it (what an earlier call gave
				// stays an unfinished frame, never delivered).
				out = out[:max(d.directAt, callStart)]
			}
			return out, err
		}
	}
	return out, nil
}

// header gathers a frame header from in, checks it as soon as its first
// two bytes are in (a bad frame fails before the rest arrives) and sets
// the frame up once it is whole.
func (d *wsDecoder) header(in, out []byte) ([]byte, []byte, *wsError) {
	if d.nhdr < 2 {
		k := copy(d.hdr[d.nhdr:2], in)
		d.nhdr += uint8(k)
		in = in[k:]
		if d.nhdr < 2 {
			return in, out, nil
		}
		if err := d.check(d.hdr[0], d.hdr[1]); err != nil {
			return in, out, err
		}
	}
	hl := wsHeaderLen(d.hdr[1])
	k := copy(d.hdr[d.nhdr:hl], in)
	d.nhdr += uint8(k)
	in = in[k:]
	if int(d.nhdr) < hl {
		return in, out, nil
	}
	d.nhdr = 0
	out, err := d.start(d.hdr[:hl], out)
	return in, out, err
}

// check refuses what the first two bytes of a header already say is
// wrong: reserved bits (no extension is negotiated: permessage-deflate is
// not offered), an unknown opcode, masking the wrong way, a control frame
// fragmented or over 125 bytes, fragments out of order.
func (d *wsDecoder) check(b0, b1 byte) *wsError {
	op := b0 & 0x0F
	switch {
	case b0&wsRSV != 0:
		return wsFail(wsCloseProtocol, "reserved bits %#x set, no extension negotiated", b0&wsRSV)
	case !wsKnownOp(op):
		return wsFail(wsCloseProtocol, "unknown opcode %#x", op)
	case d.masked && b1&wsMask == 0:
		return wsFail(wsCloseProtocol, "unmasked client frame")
	case !d.masked && b1&wsMask != 0:
		return wsFail(wsCloseProtocol, "masked server frame")
	case wsControl(op) && b0&wsFin == 0:
		return wsFail(wsCloseProtocol, "fragmented control frame")
	case wsControl(op) && b1&0x7F > wsMaxControl:
		return wsFail(wsCloseProtocol, "control frame over 125 bytes")
	case op == wsOpContinuation && d.msgOp == 0:
		return wsFail(wsCloseProtocol, "continuation frame without a message to continue")
	case (op == wsOpText || op == wsOpBinary) && d.msgOp != 0:
		return wsFail(wsCloseProtocol, "new data frame inside a fragmented message")
	}
	return nil
}

// start sets up the frame whose whole header is h; a frame without
// payload ends at once.
func (d *wsDecoder) start(h, out []byte) ([]byte, *wsError) {
	d.op, d.fin = h[0]&0x0F, h[0]&wsFin != 0
	n := wsPayloadLen(h)
	if !wsControl(d.op) && n > uint64(d.max-d.msgLen()) {
		return out, wsFail(wsCloseTooBig, "message over max_frame (%d bytes)", d.max)
	}
	d.left, d.pos, d.inFrame = n, 0, true
	if d.masked {
		copy(d.key[:], h[len(h)-4:])
	}
	switch {
	case wsControl(d.op):
		g := d.gathered()
		g.ctl = g.ctl[:0]
	case d.op != wsOpContinuation && d.fin:
		d.direct, d.directAt = true, len(out)
		d.text = wsUTF8{}
		out = appendWSHeader(out, d.op, int(n))
	case d.op != wsOpContinuation:
		d.msgOp, d.text = d.op, wsUTF8{}
	}
	if n == 0 {
		return d.end(out)
	}
	return out, nil
}

// payload takes b, the frame's next payload bytes.
func (d *wsDecoder) payload(b, out []byte) ([]byte, *wsError) {
	d.left -= uint64(len(b))
	var dst []byte
	switch {
	case wsControl(d.op):
		g := d.gath // start made it
		at := len(g.ctl)
		g.ctl = append(g.ctl, b...)
		dst = g.ctl[at:]
	case d.direct:
		at := len(out)
		out = append(out, b...)
		dst = out[at:]
	default:
		g := d.gathered()
		at := len(g.msg)
		g.msg = appendWithin(g.msg, b, d.max)
		dst = g.msg[at:]
	}
	if d.masked {
		d.pos = uint8(wsMaskBytes(dst, d.key, int(d.pos)))
	}
	if !wsControl(d.op) && d.textOp() && !d.text.feed(dst) {
		return out, wsFail(wsCloseBadData, "text message not valid UTF-8")
	}
	if d.left == 0 {
		return d.end(out)
	}
	return out, nil
}

// appendWithin appends b to msg, growing it to at most max bytes of
// capacity (limit; the frame header was checked against it): append's
// own growth would hold up to half as much again as the largest message,
// per connection.
func appendWithin(msg, b []byte, limit int) []byte {
	if need := len(msg) + len(b); need > cap(msg) {
		grown := make([]byte, len(msg), max(min(2*cap(msg), limit), need))
		msg = append(grown[:0], msg...)
	}
	return append(msg, b...)
}

// textOp reports whether the data frame under way is part of a text
// message.
func (d *wsDecoder) textOp() bool {
	if d.direct {
		return d.op == wsOpText
	}
	return d.msgOp == wsOpText
}

// end finishes the frame whose payload is all in.
func (d *wsDecoder) end(out []byte) ([]byte, *wsError) {
	d.inFrame = false
	switch {
	case wsControl(d.op):
		ctl := d.gath.ctl // start made gath
		if d.op == wsOpClose {
			if err := checkWSClose(ctl); err != nil {
				return out, err
			}
		}
		out = appendWSHeader(out, d.op, len(ctl))
		return append(out, ctl...), nil
	case d.direct:
		if d.op == wsOpText && !d.text.done() {
			// Still direct: decode takes the frame back out.
			return out, wsFail(wsCloseBadData, "text message ends inside a UTF-8 sequence")
		}
		d.direct = false
		return out, nil
	case !d.fin:
		return out, nil
	}
	if d.msgOp == wsOpText && !d.text.done() {
		return out, wsFail(wsCloseBadData, "text message ends inside a UTF-8 sequence")
	}
	g := d.gathered() // none yet if every fragment was empty
	out = appendWSHeader(out, d.msgOp, len(g.msg))
	out = append(out, g.msg...)
	d.msgOp = 0
	if cap(g.msg) > keepWSMessage {
		g.msg = nil
	} else {
		g.msg = g.msg[:0]
	}
	return out, nil
}

// checkWSClose checks a close frame's payload (5.5.1, 7.4): empty, or a
// code that may be sent and a UTF-8 reason.
func checkWSClose(p []byte) *wsError {
	if len(p) == 0 {
		return nil
	}
	if len(p) == 1 {
		return wsFail(wsCloseProtocol, "close frame with a 1-byte payload")
	}
	if code := binary.BigEndian.Uint16(p); !wsValidCloseCode(code) {
		return wsFail(wsCloseProtocol, "close code %d may not be sent", code)
	}
	if !utf8.Valid(p[2:]) {
		return wsFail(wsCloseBadData, "close reason not valid UTF-8")
	}
	return nil
}

// wsValidCloseCode reports whether a peer may send code (7.4.1, 7.4.2
// and IANA's registry: 1000-1003, 1007-1011, and 3000-4999 for
// libraries and applications).
func wsValidCloseCode(code uint16) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1011:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}
