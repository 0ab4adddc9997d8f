package endpoints

import "unicode/utf8"

// wsUTF8 checks a text message's UTF-8 as its fragments arrive (RFC 6455
// 8.1): a code point may be split across fragments, or across the reads
// of one, so the bytes of an unfinished one are carried (at most 3). A
// sequence that can no longer become valid fails at once (Autobahn 6.x's
// "fail fast"), not only at the message's end.
type wsUTF8 struct {
	part [utf8.UTFMax]byte
	n    uint8 // bytes of the unfinished code point in part
}

// feed checks b, which follows what was fed before; false: invalid.
func (v *wsUTF8) feed(b []byte) bool {
	for v.n > 0 && len(b) > 0 {
		v.part[v.n] = b[0]
		v.n++
		b = b[1:]
		if !wsUTF8Prefix(v.part[:v.n]) {
			return false
		}
		if int(v.n) == wsUTF8Len(v.part[0]) {
			v.n = 0
		}
	}
	if len(b) == 0 {
		return true
	}
	// The bulk with the standard library (an ASCII fast path); only the
	// last few bytes may start a code point that the next bytes finish.
	tail := len(b)
	for i := len(b) - 1; i >= 0 && i >= len(b)-(utf8.UTFMax-1); i-- {
		if c := b[i]; c >= 0xC0 {
			if len(b)-i < wsUTF8Len(c) {
				tail = i
			}
			break
		} else if c < 0x80 {
			break
		}
	}
	if !utf8.Valid(b[:tail]) {
		return false
	}
	if tail < len(b) {
		if !wsUTF8Prefix(b[tail:]) {
			return false
		}
		v.n = uint8(copy(v.part[:], b[tail:]))
	}
	return true
}

// done reports whether the message ended between code points.
func (v *wsUTF8) done() bool { return v.n == 0 }

// wsValidUTF8 reports whether the slices, back to back, are valid UTF-8.
func wsValidUTF8(parts [][]byte) bool {
	var v wsUTF8
	for _, p := range parts {
		if !v.feed(p) {
			return false
		}
	}
	return v.done()
}

// wsUTF8Len is the length of the code point a lead byte starts; 0 for a
// byte that cannot start one.
func wsUTF8Len(c byte) int {
	switch {
	case c < 0x80:
		return 1
	case c >= 0xC2 && c <= 0xDF:
		return 2
	case c >= 0xE0 && c <= 0xEF:
		return 3
	case c >= 0xF0 && c <= 0xF4:
		return 4
	}
	return 0
}

// wsUTF8Prefix reports whether p, the start of one code point (shorter
// than it or whole), can be or is valid: the second byte's range depends
// on the first (no overlongs, surrogates or code points past U+10FFFF).
func wsUTF8Prefix(p []byte) bool {
	n := wsUTF8Len(p[0])
	if n == 0 || len(p) > n {
		return false
	}
	for i := 1; i < len(p); i++ {
		lo, hi := byte(0x80), byte(0xBF)
		if i == 1 {
			switch p[0] {
			case 0xE0:
				lo = 0xA0
			case 0xED:
				hi = 0x9F
			case 0xF0:
				lo = 0x90
			case 0xF4:
				hi = 0x8F
			}
		}
		if p[i] < lo || p[i] > hi {
			return false
		}
	}
	return true
}
