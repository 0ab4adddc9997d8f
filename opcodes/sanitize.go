package opcodes

import (
	"unicode"
	"unicode/utf8"
)

// What a terminal must not be handed from a peer. A relay's "<name> " is
// the router's word for who spoke, so nothing a member sends may move the
// cursor over it (C0 controls: "\r", ESC sequences), reach the terminal as
// an 8-bit control (C1, U+0080-U+009F, or its raw byte), or reverse the
// text around it (bidi controls). Names are held to more: they must also
// be visible, so that two names that look alike are alike.

// cleanName appends raw to dst as a relay member's name: at most maxName
// bytes of visible text, whole characters only, blanks as '_'. Controls,
// bidi and other invisible format characters, line and paragraph
// separators and invalid UTF-8 are removed.
func cleanName(dst, raw []byte) []byte {
	start := len(dst)
	for _, r := range string(raw) {
		switch {
		case r == '\t':
			r = '_'
		case r == utf8.RuneError || unicode.IsControl(r) || invisible(r):
			continue
		case unicode.IsSpace(r) || r == '\u2800': // and the blank braille pattern
			r = '_'
		}
		if len(dst)-start+utf8.RuneLen(r) > maxName {
			break // whole characters only
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// invisible reports characters that draw nothing: format characters
// (bidi controls, zero-width ones, the byte-order mark, soft hyphen),
// every other default-ignorable code point (variation selectors, the
// combining grapheme joiner, Hangul fillers, Khmer inherent vowels), and
// line or paragraph separators. A name that differs from another only by
// these would look the same.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r) || r == '\u2028' || r == '\u2029'
}

// needsCleaning reports whether appendClean would change p. Printable
// ASCII costs one comparison a byte.
func needsCleaning(p []byte) bool {
	for i := 0; i < len(p); {
		if b := p[i]; b >= 0x20 && b < 0x7f || b == '\t' {
			i++
			continue
		}
		n, drop := terminalControl(p[i:])
		if drop {
			return true
		}
		i += n
	}
	return false
}

// appendClean appends p to dst without the terminal controls a sanitizing
// relay strips: C0 controls but tab, DEL, C1 controls (encoded, or as a
// stray byte 0x80-0x9F) and bidi controls. Other bytes, invalid UTF-8
// included, pass unchanged; it allocates only to grow dst.
func appendClean(dst, p []byte) []byte {
	from := 0
	for i := 0; i < len(p); {
		if b := p[i]; b >= 0x20 && b < 0x7f || b == '\t' {
			i++
			continue
		}
		n, drop := terminalControl(p[i:])
		if drop {
			dst = append(dst, p[from:i]...)
			from = i + n
		}
		i += n
	}
	return append(dst, p[from:]...)
}

// terminalControl looks at the character p starts with (not printable
// ASCII) and returns its length and whether a sanitizing relay drops it.
func terminalControl(p []byte) (int, bool) {
	if p[0] < 0x80 {
		return 1, p[0] != '\t' // C0 or DEL
	}
	r, n := utf8.DecodeRune(p)
	if r == utf8.RuneError && n == 1 {
		return 1, p[0] < 0xa0 // a stray 0x80-0x9F is C1 to an 8-bit terminal
	}
	return n, r <= 0x9f || bidiControl(r)
}

// bidiControl reports Unicode's explicit directional formatting
// characters: marks, embeddings, overrides and isolates.
func bidiControl(r rune) bool {
	switch {
	case r == '\u061c', r == '\u200e', r == '\u200f':
		return true
	case r >= '\u202a' && r <= '\u202e':
		return true
	case r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}
