package endpoints

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// The NATS client protocol's server side, as a client reads it: one op a
// line (INFO, MSG, HMSG, PING, PONG, +OK, -ERR), MSG and HMSG followed by
// their payload and CRLF. Every line is bounded (natsMaxLine, INFO by
// natsMaxInfo) and every size by the endpoint's max_frame: a server that
// breaks the protocol fails the connection, which reconnects.

// Bounds of what the server may send.
const (
	natsMaxLine    = 4096     // an op line but INFO: subjects are far shorter
	natsMaxInfo    = 64 << 10 // INFO carries connect_urls: a large cluster's list
	natsMaxArgs    = 6        // HMSG <subject> <sid> <reply> <hdr> <total>: 5
	natsMaxParts   = 1024     // parts a Pxroute-Parts header may list
	natsMaxSubject = 1024     // bytes of a subject we publish or accept as a part
)

// natsOp is an op's kind.
type natsOp uint8

const (
	natsOpInfo natsOp = iota + 1
	natsOpMsg
	natsOpHMsg
	natsOpHPub // never from a server: our own HPUB, read back (a relay's rewrite)
	natsOpPing
	natsOpPong
	natsOpOK
	natsOpErr
)

// natsFrame is one op as parsed off the wire: bounds are offsets into it.
type natsFrame struct {
	op      natsOp
	wire    int // whole op: line, payload and its CRLF
	line    int // end of the line, CRLF included
	args    [natsMaxArgs][2]int
	nargs   int
	subject [2]int // MSG/HMSG: the subject
	hdr     [2]int // HMSG: the header block (NATS/1.0 line to the empty line)
	payload [2]int // MSG/HMSG: the payload
}

// carries says whether the op carries a message.
func (o natsOp) carries() bool { return o == natsOpMsg || o == natsOpHMsg || o == natsOpHPub }

var errNATSProto = errors.New("nats: protocol error")

// natsProtoError names what was wrong, quoting a bounded piece of it.
func natsProtoError(what string, b []byte) error {
	if len(b) > 64 {
		b = b[:64]
	}
	return fmt.Errorf("%w: %s (%q)", errNATSProto, what, b)
}

// parseNATSOp parses the op at the start of b. wire == 0 (f.wire) with a
// nil error: more bytes are needed. max bounds a MSG's whole wire length.
func parseNATSOp(b []byte, max int, f *natsFrame) error {
	*f = natsFrame{}
	limit := natsMaxLine
	if len(b) >= 4 && bytes.EqualFold(b[:4], []byte("INFO")) {
		limit = natsMaxInfo
	}
	nl := bytes.IndexByte(b[:min(len(b), limit+2)], '\n')
	if nl < 0 {
		if len(b) > limit {
			return natsProtoError(fmt.Sprintf("a line over %d bytes", limit), b)
		}
		return nil
	}
	if nl == 0 || b[nl-1] != '\r' {
		return natsProtoError("a line not ended by CRLF", b[:nl])
	}
	f.line = nl + 1
	line := b[:nl-1]
	// Split the line into its op and arguments (spaces or tabs).
	op, rest := natsToken(line, 0)
	if op[0] == op[1] {
		return natsProtoError("an empty line", line)
	}
	name := line[op[0]:op[1]]
	switch {
	case bytes.EqualFold(name, []byte("PING")):
		f.op = natsOpPing
	case bytes.EqualFold(name, []byte("PONG")):
		f.op = natsOpPong
	case bytes.EqualFold(name, []byte("+OK")):
		f.op = natsOpOK
	case bytes.EqualFold(name, []byte("-ERR")):
		f.op = natsOpErr
	case bytes.EqualFold(name, []byte("INFO")):
		f.op = natsOpInfo
	case bytes.EqualFold(name, []byte("MSG")):
		f.op = natsOpMsg
	case bytes.EqualFold(name, []byte("HMSG")):
		f.op = natsOpHMsg
	case bytes.EqualFold(name, []byte("HPUB")):
		f.op = natsOpHPub
	default:
		return natsProtoError("an unknown op", line)
	}
	if !f.op.carries() {
		// The rest of the line is the op's text (INFO's JSON, -ERR's).
		f.args[0] = [2]int{skipNATSSpace(line, rest), len(line)}
		f.wire = f.line
		return nil
	}
	for at := rest; ; {
		t, next := natsToken(line, at)
		if t[0] == t[1] {
			break
		}
		if f.nargs == natsMaxArgs {
			return natsProtoError("too many arguments", line)
		}
		f.args[f.nargs] = t
		f.nargs++
		at = next
	}
	want := 3 // MSG subject sid [reply] size; HPUB subject [reply] hdr size
	if f.op == natsOpHMsg {
		want = 4
	}
	if f.nargs != want && f.nargs != want+1 {
		return natsProtoError("wrong number of arguments", line)
	}
	f.subject = f.args[0]
	if !validNATSSubject(line[f.subject[0]:f.subject[1]], true) {
		return natsProtoError("a malformed subject", line)
	}
	total, ok := natsSize(line, f.args[f.nargs-1])
	if !ok {
		return natsProtoError("a malformed size", line)
	}
	hdr := 0
	if f.op != natsOpMsg {
		if hdr, ok = natsSize(line, f.args[f.nargs-2]); !ok || hdr > total {
			return natsProtoError("a malformed header size", line)
		}
	}
	if total > max || f.line+total+2 > max {
		return natsProtoError(fmt.Sprintf("a message over max_frame (%d bytes)", max), line)
	}
	end := f.line + total
	if len(b) < end+2 {
		return nil // the payload is not all here yet
	}
	if b[end] != '\r' || b[end+1] != '\n' {
		return natsProtoError("a payload not followed by CRLF", b[:f.line])
	}
	f.hdr = [2]int{f.line, f.line + hdr}
	f.payload = [2]int{f.line + hdr, end}
	f.wire = end + 2
	return nil
}

// natsToken returns the bounds of the space-separated token at or after
// at in line, and where the next one may start.
func natsToken(line []byte, at int) ([2]int, int) {
	at = skipNATSSpace(line, at)
	end := at
	for end < len(line) && line[end] != ' ' && line[end] != '\t' {
		end++
	}
	return [2]int{at, end}, end
}

func skipNATSSpace(line []byte, at int) int {
	for at < len(line) && (line[at] == ' ' || line[at] == '\t') {
		at++
	}
	return at
}

// natsSize reads a decimal size of at most 10 digits.
func natsSize(line []byte, t [2]int) (int, bool) {
	s := line[t[0]:t[1]]
	if len(s) == 0 || len(s) > 10 {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// validNATSSubject checks a subject: tokens separated by dots, none
// empty, no whitespace or control bytes; with wildcards, a token may be
// "*", and the last one ">".
func validNATSSubject(s []byte, wildcards bool) bool {
	if len(s) == 0 || len(s) > natsMaxSubject {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			if c := s[i]; c <= ' ' || c == 0x7f {
				return false
			}
			continue
		}
		tok := s[start:i]
		switch {
		case len(tok) == 0:
			return false
		case bytes.IndexAny(tok, "*>") >= 0:
			if !wildcards || len(tok) != 1 || (tok[0] == '>' && i != len(s)) {
				return false
			}
		}
		start = i + 1
	}
	return true
}

// natsHeaders are the headers of ours an HMSG carries.
type natsHeaders struct {
	origin []byte
	seq    uint64
	hasSeq bool
	parts  []byte // Pxroute-Parts' value; nil: none
}

// parseNATSHeaders reads our headers from a header block ("NATS/1.0" and
// "Name: value" lines, an empty line). Other headers are ignored; a block
// that is not NATS/1.0 is an error.
func parseNATSHeaders(block []byte) (natsHeaders, error) {
	var h natsHeaders
	nl := bytes.Index(block, []byte("\r\n"))
	if nl < 0 || !bytes.HasPrefix(block, []byte("NATS/1.0")) {
		return h, errors.New("header block not NATS/1.0")
	}
	for rest := block[nl+2:]; len(rest) > 0; {
		nl := bytes.Index(rest, []byte("\r\n"))
		if nl < 0 {
			return h, errors.New("header line not ended by CRLF")
		}
		line := rest[:nl]
		rest = rest[nl+2:]
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue // the empty line ending the block
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte(natsHdrOrigin)):
			h.origin = v
		case bytes.EqualFold(k, []byte(natsHdrSeq)):
			n, err := strconv.ParseUint(string(v), 10, 64)
			if err != nil {
				return h, fmt.Errorf("bad %s %q", natsHdrSeq, v)
			}
			h.seq, h.hasSeq = n, true
		case bytes.EqualFold(k, []byte(natsHdrParts)):
			h.parts = v
		}
	}
	return h, nil
}

// Our headers.
const (
	natsHdrOrigin = "Pxroute-Origin"
	natsHdrSeq    = "Pxroute-Seq"
	natsHdrParts  = "Pxroute-Parts"
)

// natsSplitParts reads a Pxroute-Parts value (part sizes, comma
// separated) against a payload of n bytes: the parts' bounds, offset by
// base, appended to out. ok false: the value does not describe the
// payload.
func natsSplitParts(v []byte, n, base int, out [][2]int) ([][2]int, bool) {
	at := 0
	for len(v) > 0 {
		tok := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			tok, v = v[:i], v[i+1:]
			if len(v) == 0 {
				return out, false
			}
		} else {
			v = nil
		}
		size, ok := natsSize(bytes.TrimSpace(tok), [2]int{0, len(bytes.TrimSpace(tok))})
		if !ok || size > n-at || len(out) == natsMaxParts {
			return out, false
		}
		out = append(out, [2]int{base + at, base + at + size})
		at += size
	}
	return out, at == n && len(out) >= 2
}
