package endpoints

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"strings"
)

// HTTP/1.1 as much as a WebSocket opening handshake needs (RFC 6455 4,
// RFC 9112): a start line and header fields up to an empty line, nothing
// after it read as HTTP (a GET has no body; an upgrade's frames follow).

// wsGUID is appended to a key to make its accept value (RFC 6455 1.3).
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// wsAccept is Sec-WebSocket-Accept for key.
func wsAccept(key string) string { return string(appendWSAccept(nil, key)) }

// appendWSAccept appends Sec-WebSocket-Accept for key to dst: for a key
// of the usual size, without an allocation of its own (every upgrade
// makes one; what an idle server's heap holds is mostly its connections,
// and what the garbage collector has not yet taken).
func appendWSAccept(dst []byte, key string) []byte {
	var buf [64]byte
	in := append(buf[:0], key...)
	sum := sha1.Sum(append(in, wsGUID...))
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// wsHeaderEnd finds the empty line that ends a header block in b, looking
// from from on; it returns the length of the block with it, or -1 and the
// from to pass once more bytes follow. Lines end in CRLF or, as RFC 9112
// lets a recipient accept, a bare LF.
func wsHeaderEnd(b []byte, from int) (end, next int) {
	for i := max(from, 0); i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		at := i + j
		rest := b[at+1:]
		switch {
		case len(rest) >= 1 && rest[0] == '\n':
			return at + 2, 0
		case len(rest) >= 2 && rest[0] == '\r' && rest[1] == '\n':
			return at + 3, 0
		case len(rest) < 2:
			return -1, at // the empty line may be arriving
		}
		i = at + 1
	}
	return -1, max(len(b)-1, 0)
}

// wsHeader is one header field, its name lower-cased.
type wsHeader struct{ name, value string }

// parseWSHeaderBlock splits a header block (through its empty line) into
// its start line and fields; ok false: malformed (a bad name or
// character, a line folded onto the one before, a field without colon).
func parseWSHeaderBlock(b []byte, fields []wsHeader) (start string, _ []wsHeader, ok bool) {
	// One string for the block; the start line and values are slices of
	// it, and names we read are constants (an upgrade makes one
	// allocation here, not three a field: less garbage per connection).
	text := string(b)
	first := true
	for len(text) > 0 {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			return "", fields, false
		}
		line := text[:i]
		text = text[i+1:]
		line = strings.TrimSuffix(line, "\r")
		if !wsFieldChars(line) {
			return "", fields, false
		}
		if first {
			start, first = line, false
			continue
		}
		if len(line) == 0 {
			return start, fields, len(text) == 0
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 || !wsToken(line[:colon]) {
			return "", fields, false // includes obs-fold (a leading space)
		}
		name := wsFieldName(line[:colon])
		value := strings.Trim(line[colon+1:], " \t")
		fields = append(fields, wsHeader{name, value})
	}
	return "", fields, false
}

// wsKnownFields are the field names the handshakes read, lower case.
var wsKnownFields = [...]string{"host", "origin", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol", "sec-websocket-accept", "sec-websocket-extensions"}

// wsFieldName is name in lower case: one of wsKnownFields without an
// allocation, another made lower case.
func wsFieldName(name string) string {
	for _, k := range wsKnownFields {
		if strings.EqualFold(name, k) {
			return k
		}
	}
	return strings.ToLower(name)
}

// wsFieldChars reports whether a line holds no control characters but
// HTAB (RFC 9110 5.5: CR, LF and NUL in a field are refused).
func wsFieldChars[T string | []byte](b T) bool {
	for i := 0; i < len(b); i++ {
		if c := b[i]; c < 0x20 && c != '\t' || c == 0x7F {
			return false
		}
	}
	return true
}

// wsToken reports whether b is an HTTP token (RFC 9110 5.6.2).
func wsToken[T string | []byte](b T) bool {
	if len(b) == 0 {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c <= ' ' || c >= 0x7F || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// wsHasToken reports whether the comma-separated list v holds token,
// case-insensitively (Connection: keep-alive, Upgrade).
func wsHasToken(v, token string) bool {
	for item := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.Trim(item, " \t"), token) {
			return true
		}
	}
	return false
}

// appendWSList appends the comma-separated items of v to list.
func appendWSList(list []string, v string) []string {
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.Trim(item, " \t"); item != "" {
			list = append(list, item)
		}
	}
	return list
}
