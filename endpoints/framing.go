package endpoints

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Framing turns a byte stream into messages and back. It has the method set
// of opcodes.Framing.
type Framing interface {
	// Name identifies the framing with its parameters.
	Name() string
	// Split returns the wire length of the first whole message at the start
	// of b and its payload bounds; wire == 0 asks for more bytes. An error
	// (a message longer than max) means the stream cannot go on.
	Split(b []byte, max int) (wire, start, end int, err error)
	// Encode returns what goes before and after payload; hdr (8 bytes or
	// more) is scratch space for the result.
	Encode(hdr []byte, payload []byte) (head, tail []byte)
	// Boundaries reports whether messages keep their boundaries.
	Boundaries() bool
}

// ErrTooLarge says a peer sent a message over max_frame.
var ErrTooLarge = errors.New("message larger than max_frame")

// Framings lists the framing names a topology may use.
func Framings() []string { return []string{"raw", "lines", "length-prefix"} }

// FramingByName returns the framing called name.
func FramingByName(name string) (Framing, error) {
	switch name {
	case "raw":
		return Raw, nil
	case "lines":
		return Lines, nil
	case "length-prefix":
		return LengthPrefix, nil
	}
	return nil, fmt.Errorf("unknown framing %q: want raw, lines or length-prefix", name)
}

// Raw passes bytes as they come: each read is one message, and output is
// the source's wire bytes unchanged.
var Raw Framing = rawFraming{}

type rawFraming struct{}

func (rawFraming) Name() string     { return "raw" }
func (rawFraming) Boundaries() bool { return false }
func (rawFraming) Split(b []byte, _ int) (int, int, int, error) {
	return len(b), 0, len(b), nil
}
func (rawFraming) Encode(_ []byte, _ []byte) ([]byte, []byte) { return nil, nil }

// Lines splits at LF; the payload excludes the terminator (LF or CRLF), and
// output ends each message with LF (CRLF when the payload ends in CR, so
// that it reads back unchanged).
var Lines Framing = linesFraming{}

type linesFraming struct{}

var (
	newline = []byte{'\n'}
	crlf    = []byte{'\r', '\n'}
)

func (linesFraming) Name() string     { return "lines" }
func (linesFraming) Boundaries() bool { return true }
func (linesFraming) Split(b []byte, max int) (int, int, int, error) {
	limit := b
	if len(limit) > max {
		limit = limit[:max]
	}
	i := bytes.IndexByte(limit, '\n')
	if i < 0 {
		if len(b) >= max {
			return 0, 0, 0, ErrTooLarge
		}
		return 0, 0, 0, nil
	}
	end := i
	if end > 0 && b[end-1] == '\r' {
		end--
	}
	return i + 1, 0, end, nil
}
func (linesFraming) Encode(_ []byte, payload []byte) ([]byte, []byte) {
	if n := len(payload); n > 0 && payload[n-1] == '\r' {
		// A bare LF would make this read back as CRLF, losing the CR.
		return nil, crlf
	}
	return nil, newline
}

// LengthPrefix is an 8-byte little-endian payload length, then the payload.
// A length over max is refused from the header alone, before any of the
// payload is held.
var LengthPrefix Framing = lengthPrefix{}

type lengthPrefix struct{}

func (lengthPrefix) Name() string     { return "length-prefix" }
func (lengthPrefix) Boundaries() bool { return true }
func (lengthPrefix) Split(b []byte, max int) (int, int, int, error) {
	if len(b) < 8 {
		return 0, 0, 0, nil
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(max) {
		return 0, 0, 0, ErrTooLarge
	}
	if uint64(len(b)-8) < n {
		return 0, 0, 0, nil
	}
	return 8 + int(n), 8, 8 + int(n), nil
}

// Size reads the header alone: the message's wire length, for cut-through.
func (lengthPrefix) Size(b []byte) (int, bool) {
	if len(b) < 8 {
		return 0, false
	}
	n := binary.LittleEndian.Uint64(b)
	if n > 1<<62 {
		return 0, false
	}
	return 8 + int(n), true
}

func (lengthPrefix) Encode(hdr []byte, payload []byte) ([]byte, []byte) {
	binary.LittleEndian.PutUint64(hdr, uint64(len(payload)))
	return hdr[:8], nil
}

// parseOptions reads framing, max_frame and high_water.
func parseOptions(p Params) Options {
	o := Options{Framing: Raw, MaxFrame: DefaultMaxFrame, HighWater: DefaultHighWater}
	if name, ok := p.String("framing"); ok {
		f, err := FramingByName(name)
		if err != nil {
			p.Errorf("framing", "%v", err)
		} else {
			o.Framing = f
		}
	}
	if n, ok := p.Size("max_frame"); ok {
		if n < 1 || n > 1<<40 {
			p.Errorf("max_frame", "max_frame must be between 1 byte and 1TiB")
		} else {
			o.MaxFrame = int(n)
		}
	}
	if n, ok := p.Size("high_water"); ok {
		if n < 1 || n > 1<<40 {
			p.Errorf("high_water", "high_water must be between 1 byte and 1TiB")
		} else {
			o.HighWater = int(n)
		}
	}
	if n, ok := p.Size("high_water_msgs"); ok {
		if n < 1 || n > 1<<32 {
			p.Errorf("high_water_msgs", "high_water_msgs must be between 1 and 2^32 messages")
		} else {
			o.HighWaterMsgs = int(n)
		}
	}
	if s, ok := p.String("overflow"); ok {
		if !validOverflow(s) {
			p.Errorf("overflow", "unknown overflow policy %q: want one of %v", s, Overflows())
		} else {
			o.Overflow = s
		}
	}
	return o
}

// Overflows lists the overflow policies: what a send does when a
// connection's queue is over its high-water mark.
func Overflows() []string { return []string{"block", "drop-newest", "drop-oldest", "disconnect"} }

func validOverflow(s string) bool {
	for _, o := range Overflows() {
		if s == o {
			return true
		}
	}
	return false
}
