package endpoints

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pxroute/pxroute/contract"
)

// ErrTooLarge says a peer sent a message over max_frame.
var ErrTooLarge = errors.New("message larger than max_frame")

// ErrBadHeader says a length header cannot be right (an inclusive length
// shorter than the header itself).
var ErrBadHeader = errors.New("length header shorter than the header itself")

// Framings lists the framing names a topology may use.
func Framings() []string {
	return []string{"raw", "lines", "delimiter", "length-prefix", "datagram", "zmtp", "websocket"}
}

// FramingByName returns the framing called name with its default settings;
// delimiter needs one and has none.
func FramingByName(name string) (contract.Framing, error) {
	switch name {
	case "raw":
		return Raw, nil
	case "lines":
		return Lines, nil
	case "length-prefix":
		return LengthPrefix, nil
	case "datagram":
		return Datagram, nil
	case "delimiter":
		return nil, errors.New("framing delimiter needs delimiter: (the byte string that ends each message)")
	case "zmtp":
		return nil, errors.New("framing zmtp needs socket: (the ZeroMQ socket type pxroute plays)")
	case "websocket":
		return newWSFraming(), nil
	}
	return nil, fmt.Errorf("unknown framing %q: want one of %v", name, Framings())
}

// Raw passes bytes as they come: each read is one message, and output is
// the source's wire bytes unchanged.
var Raw contract.Framing = rawFraming{}

type rawFraming struct{}

func (rawFraming) Name() string     { return "raw" }
func (rawFraming) Boundaries() bool { return false }
func (rawFraming) Split(b []byte, _ int) (int, int, int, error) {
	return len(b), 0, len(b), nil
}
func (rawFraming) Encode(_ []byte, _ [][]byte) ([]byte, []byte) { return nil, nil }

// Datagram is one message per datagram (udp, unix datagram sockets): each
// read is one message with its boundaries, and each message leaves as one
// datagram.
var Datagram contract.Framing = datagramFraming{}

// MaxDatagram is the largest payload a datagram endpoint sends: the UDP
// limit over IPv4, applied to unix datagram sockets too.
const MaxDatagram = 65507

type datagramFraming struct{}

func (datagramFraming) Name() string     { return "datagram" }
func (datagramFraming) Boundaries() bool { return true }
func (datagramFraming) Datagrams() bool  { return true }

// MaxPayload caps what is sent (contract.Capped): larger messages are
// dropped for this destination and counted.
func (datagramFraming) MaxPayload() int { return MaxDatagram }
func (datagramFraming) Split(b []byte, max int) (int, int, int, error) {
	if len(b) > max {
		return 0, 0, 0, ErrTooLarge
	}
	return len(b), 0, len(b), nil
}
func (datagramFraming) Encode(_ []byte, _ [][]byte) ([]byte, []byte) { return nil, nil }

// Lines splits at LF; the payload excludes the terminator (LF or CRLF), and
// output ends each message with LF (CRLF when the payload ends in CR, so
// that it reads back unchanged).
var Lines contract.Framing = linesFraming{}

// LinesKeep is lines with the terminator left in the payload (strip:
// false); output adds LF only to a payload that does not end in one.
var LinesKeep contract.Framing = linesFraming{keep: true}

type linesFraming struct{ keep bool }

var (
	newline = []byte{'\n'}
	crlf    = []byte{'\r', '\n'}
)

func (f linesFraming) Name() string {
	if f.keep {
		return "lines/keep"
	}
	return "lines"
}
func (linesFraming) Boundaries() bool { return true }
func (f linesFraming) Split(b []byte, max int) (int, int, int, error) {
	wire, start, end, _, err := f.SplitFrom(b, max, 0)
	return wire, start, end, err
}

// SplitFrom is Split resumed (contract.Resumer): b[:from] is known to hold
// no LF, so only the bytes after it are searched.
func (f linesFraming) SplitFrom(b []byte, maxLen, from int) (wire, start, end, scanned int, err error) {
	limit := min(len(b), maxLen)
	i := -1
	if from < limit {
		if i = bytes.IndexByte(b[from:limit], '\n'); i >= 0 {
			i += from
		}
	}
	if i < 0 {
		if len(b) >= maxLen {
			return 0, 0, 0, 0, ErrTooLarge
		}
		return 0, 0, 0, max(from, limit), nil
	}
	if f.keep {
		return i + 1, 0, i + 1, 0, nil
	}
	end = i
	if end > 0 && b[end-1] == '\r' {
		end--
	}
	return i + 1, 0, end, 0, nil
}
func (f linesFraming) Encode(_ []byte, payload [][]byte) ([]byte, []byte) {
	last, ok := lastByte(payload)
	if f.keep && ok && last == '\n' {
		return nil, nil
	}
	if ok && last == '\r' && !f.keep {
		// A bare LF would make this read back as CRLF, losing the CR.
		return nil, crlf
	}
	return nil, newline
}

// delimiterFraming ends each message with a byte string ("\r\n\r\n",
// "\x00"). The payload excludes it unless keep is set; a message must not
// contain the delimiter, since it would read back as two.
type delimiterFraming struct {
	delim []byte
	keep  bool
}

// NewDelimiter returns the framing that ends messages with delim.
func NewDelimiter(delim []byte, keep bool) (contract.Framing, error) {
	if len(delim) == 0 {
		return nil, errors.New("delimiter must not be empty")
	}
	return delimiterFraming{delim: bytes.Clone(delim), keep: keep}, nil
}

func (f delimiterFraming) Name() string {
	name := fmt.Sprintf("delimiter/%x", f.delim)
	if f.keep {
		name += "/keep"
	}
	return name
}
func (delimiterFraming) Boundaries() bool { return true }
func (f delimiterFraming) Split(b []byte, max int) (int, int, int, error) {
	wire, start, end, _, err := f.SplitFrom(b, max, 0)
	return wire, start, end, err
}

// SplitFrom is Split resumed (contract.Resumer): no delimiter starts in
// b[:from], so the search begins there; a delimiter that straddles from is
// still found, since only its start counts.
func (f delimiterFraming) SplitFrom(b []byte, maxLen, from int) (wire, start, end, scanned int, err error) {
	// A message of maxLen bytes may be followed by the whole delimiter.
	limit := min(len(b), maxLen+len(f.delim))
	i := -1
	if from < limit {
		if i = bytes.Index(b[from:limit], f.delim); i >= 0 {
			i += from
		}
	}
	if i < 0 || i > maxLen {
		if len(b) >= maxLen+len(f.delim) || i > maxLen {
			return 0, 0, 0, 0, ErrTooLarge
		}
		// A delimiter may start in the last len-1 bytes and end in
		// bytes still to come.
		return 0, 0, 0, max(from, limit-len(f.delim)+1), nil
	}
	wire = i + len(f.delim)
	if f.keep {
		if wire > maxLen {
			return 0, 0, 0, 0, ErrTooLarge
		}
		return wire, 0, wire, 0, nil
	}
	return wire, 0, i, 0, nil
}
func (f delimiterFraming) Encode(_ []byte, payload [][]byte) ([]byte, []byte) {
	if f.keep && hasSuffix(payload, f.delim) {
		return nil, nil
	}
	return nil, f.delim
}

// LengthPrefix is an 8-byte little-endian payload length, then the payload:
// the router's own framing. Other layouts come from NewLengthPrefix.
var LengthPrefix contract.Framing = lengthPrefix{size: 8}

// lengthPrefix is a length header of size bytes (1, 2, 4 or 8), big or
// little endian, counting the payload alone or the header too. A length
// over max is refused from the header alone, before any payload is held.
type lengthPrefix struct {
	size      int
	big       bool
	inclusive bool // the length counts the header too
}

// NewLengthPrefix returns the length-prefix framing with a size-byte
// header in the given byte order; inclusive lengths count the header.
func NewLengthPrefix(size int, big, inclusive bool) (contract.Framing, error) {
	switch size {
	case 1, 2, 4, 8:
	default:
		return nil, fmt.Errorf("length_bytes must be 1, 2, 4 or 8, not %d", size)
	}
	return lengthPrefix{size: size, big: big, inclusive: inclusive}, nil
}

func (f lengthPrefix) Name() string {
	if f == (lengthPrefix{size: 8}) {
		return "length-prefix"
	}
	order := "le"
	if f.big {
		order = "be"
	}
	name := fmt.Sprintf("length-prefix/%d%s", f.size, order)
	if f.inclusive {
		name += "/inclusive"
	}
	return name
}
func (lengthPrefix) Boundaries() bool { return true }

// header reads the length field: the payload length it states; complete is
// false while the header is still arriving, valid false for an inclusive
// length shorter than the header.
func (f lengthPrefix) header(b []byte) (n uint64, complete, valid bool) {
	if len(b) < f.size {
		return 0, false, true
	}
	switch {
	case f.size == 1:
		n = uint64(b[0])
	case f.size == 2 && f.big:
		n = uint64(binary.BigEndian.Uint16(b))
	case f.size == 2:
		n = uint64(binary.LittleEndian.Uint16(b))
	case f.size == 4 && f.big:
		n = uint64(binary.BigEndian.Uint32(b))
	case f.size == 4:
		n = uint64(binary.LittleEndian.Uint32(b))
	case f.big:
		n = binary.BigEndian.Uint64(b)
	default:
		n = binary.LittleEndian.Uint64(b)
	}
	if f.inclusive {
		if n < uint64(f.size) {
			return 0, true, false // shorter than its own header
		}
		n -= uint64(f.size)
	}
	return n, true, true
}

func (f lengthPrefix) Split(b []byte, max int) (int, int, int, error) {
	n, complete, valid := f.header(b)
	if !valid {
		return 0, 0, 0, ErrBadHeader
	}
	if !complete {
		return 0, 0, 0, nil
	}
	if n > uint64(max) {
		return 0, 0, 0, ErrTooLarge
	}
	if uint64(len(b)-f.size) < n {
		return 0, 0, 0, nil
	}
	return f.size + int(n), f.size, f.size + int(n), nil
}

// Size reads the header alone: the message's wire length, for cut-through.
func (f lengthPrefix) Size(b []byte) (int, bool) {
	n, complete, valid := f.header(b)
	if !complete || !valid || n > 1<<62 {
		return 0, false
	}
	return f.size + int(n), true
}

// MaxPayload is the largest payload the header can state (contract.Capped).
func (f lengthPrefix) MaxPayload() int {
	if f.size == 8 {
		return 1 << 62
	}
	limit := 1<<(8*f.size) - 1
	if f.inclusive {
		limit -= f.size
	}
	return limit
}

func (f lengthPrefix) Encode(hdr []byte, payload [][]byte) ([]byte, []byte) {
	n := uint64(payloadLen(payload))
	if f.inclusive {
		n += uint64(f.size)
	}
	switch {
	case f.size == 1:
		hdr[0] = byte(n)
	case f.size == 2 && f.big:
		binary.BigEndian.PutUint16(hdr, uint16(n))
	case f.size == 2:
		binary.LittleEndian.PutUint16(hdr, uint16(n))
	case f.size == 4 && f.big:
		binary.BigEndian.PutUint32(hdr, uint32(n))
	case f.size == 4:
		binary.LittleEndian.PutUint32(hdr, uint32(n))
	case f.big:
		binary.BigEndian.PutUint64(hdr, n)
	default:
		binary.LittleEndian.PutUint64(hdr, n)
	}
	return hdr[:f.size], nil
}

// parseSettings reads framing, max_frame and high_water, for a kind that
// is not a stream socket.
func parseSettings(p Params) contract.Settings { return parseSettingsOf(p, false) }

// parseStreamSettings is parseSettings for stream sockets (tcp, unix),
// which alone may carry a framing with a session (zmtp).
func parseStreamSettings(p Params) contract.Settings { return parseSettingsOf(p, true) }

func parseSettingsOf(p Params, stream bool) contract.Settings {
	o := contract.Settings{Framing: Raw, MaxFrame: contract.DefaultMaxFrame, HighWater: contract.DefaultHighWater}
	if f := parseFraming(p, stream); f != nil {
		o.Framing = f
	}
	if n, ok := p.Size("max_frame"); ok {
		if n < 1 || n > 1<<40 {
			p.Errorf("max_frame", "max_frame must be between 1 byte and 1TiB")
		} else {
			o.MaxFrame = int(n)
		}
	}
	if n, ok := p.Size("high_water"); ok {
		if err := contract.CheckHighWater(n); err != nil {
			p.Errorf("high_water", "%v", err)
		} else {
			o.HighWater = int(n)
		}
	}
	if n, ok := p.Size("high_water_msgs"); ok {
		if err := contract.CheckHighWaterMsgs(n); err != nil {
			p.Errorf("high_water_msgs", "%v", err)
		} else {
			o.HighWaterMsgs = int(n)
		}
	}
	parseTopicBounds(p, &o)
	if z := zmtpOf(o.Framing); z != nil {
		z.bound(p, &o)
	}
	if w := wsOf(o.Framing); w != nil {
		w.bound(p, &o) // ws_config.go
	}
	if d, ok := p.Duration("idle_timeout"); ok {
		if d < time.Millisecond {
			p.Errorf("idle_timeout", "idle_timeout must be at least 1ms")
		}
		o.IdleTimeout = d
	}
	if d, ok := p.Duration("frame_timeout"); ok {
		if d < time.Millisecond {
			p.Errorf("frame_timeout", "frame_timeout must be at least 1ms")
		}
		o.FrameTimeout = d
	}
	if b, ok := p.Bool("ignore_eof"); ok {
		o.IgnoreEOF = b
	}
	parseReplyLimits(p, &o)
	if !stream {
		refuseTLS(p)
	}
	if s, ok := p.String("overflow"); ok {
		if pol, err := contract.ParseOverflow(s); err != nil {
			p.Errorf("overflow", "%v", err)
		} else {
			o.Overflow = pol
		}
	}
	return o
}

// parseTopicBounds reads max_topics and max_topic_bytes, after max_frame:
// a subscription is a message, so its prefix can be no longer.
func parseTopicBounds(p Params, o *contract.Settings) {
	if n, ok := p.Size("max_topics"); ok {
		if n < 1 || n > 1<<24 {
			p.Errorf("max_topics", "max_topics must be between 1 and 2^24 topics")
		} else {
			o.MaxTopics = int(n)
		}
	}
	if n, ok := p.Size("max_topic_bytes"); ok {
		switch {
		case n < 1:
			p.Errorf("max_topic_bytes", "max_topic_bytes must be at least 1 byte")
		case n > int64(o.MaxFrame):
			p.Errorf("max_topic_bytes", "max_topic_bytes (%d) must not exceed max_frame (%d)", n, o.MaxFrame)
		default:
			o.MaxTopicBytes = int(n)
		}
	}
}

// parseFraming reads framing: and the keys that tune it; nil when absent
// or wrong (the errors are recorded). stream: the endpoint is a stream
// socket, where a framing with a session may run.
func parseFraming(p Params, stream bool) contract.Framing {
	name, ok := p.String("framing")
	delim, hasDelim := p.String("delimiter")
	strip, hasStrip := p.Bool("strip")
	size, hasSize := p.Size("length_bytes")
	order, hasOrder := p.String("length_order")
	inclusive, hasIncl := p.Bool("length_includes_header")
	only := func(key string, present bool, framings string) {
		if present && !strings.Contains(framings, name) {
			p.Errorf(key, "%s applies to framing %s, not %q", key, framings, name)
		}
	}
	only("delimiter", hasDelim, "delimiter")
	only("strip", hasStrip, "lines or delimiter")
	only("length_bytes", hasSize, "length-prefix")
	only("length_order", hasOrder, "length-prefix")
	only("length_includes_header", hasIncl, "length-prefix")
	z := parseZMTPKeys(p, name, only)
	w := parseWSKeys(p, name, only) // ws_config.go
	if !ok {
		return nil
	}
	switch name {
	case "zmtp":
		return z.framing(p, stream)
	case "websocket":
		return w.framing(p, stream)
	case "lines":
		if hasStrip && !strip {
			return LinesKeep
		}
		return Lines
	case "delimiter":
		if !hasDelim {
			p.Errorf("framing", "framing delimiter needs delimiter: (the byte string that ends each message, such as \"\\r\\n\\r\\n\")")
			return nil
		}
		f, err := NewDelimiter([]byte(delim), hasStrip && !strip)
		if err != nil {
			p.Errorf("delimiter", "%v", err)
			return nil
		}
		return f
	case "length-prefix":
		if !hasSize && !hasOrder && !hasIncl {
			return LengthPrefix
		}
		if !hasSize {
			size = 8
		}
		big, badOrder := false, false
		switch order {
		case "", "little":
		case "big":
			big = true
		default:
			p.Errorf("length_order", "length_order %q: want big or little", order)
			badOrder = true
		}
		f, err := NewLengthPrefix(int(size), big, inclusive)
		if err != nil {
			p.Errorf("length_bytes", "%v", err)
			return nil
		}
		if badOrder {
			return nil
		}
		return f
	}
	f, err := FramingByName(name)
	if err != nil {
		p.Errorf("framing", "%v", err)
		return nil
	}
	return f
}
