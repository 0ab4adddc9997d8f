package opcodes

import (
	"strings"
	"testing"
)

// A name is what others trust to say who spoke: nothing in it may move
// the cursor, change the text's direction or hide.
func TestCleanName(t *testing.T) {
	for _, tc := range []struct {
		name, raw, want string
	}{
		{"plain-stays", "alice", "alice"},
		{"blanks-become-underscores", "ann smith\tjr", "ann_smith_jr"},
		{"c0-and-del-go", "a\x00b\x1bc\rd\x7fe", "abcde"},
		{"c1-controls-go", "a\u0080b\u0085c\u009bd\u009fe", "abcde"},
		{"bidi-overrides-go", "\u202Eecila\u202C", "ecila"},
		{"bidi-embeddings-go", "a\u202Ab\u202Bc\u202Dd", "abcd"},
		{"bidi-isolates-go", "a\u2066b\u2067c\u2068d\u2069", "abcd"},
		{"bidi-marks-go", "a\u200Eb\u200Fc\u061Cd", "abcd"},
		{"invisible-format-characters-go", "al\u200Bi\u2060c\uFEFFe\u00AD", "alice"},
		{"line-and-paragraph-separators-go", "a\u2028b\u2029c", "abc"},
		// Found by a hostile probe: each of these made "bob" a new name
		// that looks like bob.
		{"variation-selectors-go", "bob\uFE0F\U000E0100\u180B", "bob"},
		{"grapheme-joiner-goes", "bo\u034Fb", "bob"},
		{"hangul-fillers-go", "\u115Fbob\u1160\u3164\uFFA0", "bob"},
		{"khmer-inherent-vowels-go", "bob\u17B4\u17B5", "bob"},
		{"braille-blank-is-a-blank", "bob\u2800", "bob_"},
		{"unicode-blanks-become-underscores", "a\u00A0b\u3000c", "a_b_c"},
		{"invalid-utf8-goes", "a\xffb\xc2c", "abc"},
		{"printable-unicode-stays", "zoë 日本 \U0001F600", "zoë_日本_\U0001F600"},
		{"cut-at-64-bytes-on-a-character", "a" + strings.Repeat("\U0001F600", 20), "a" + strings.Repeat("\U0001F600", 15)},
		{"controls-cost-no-room", strings.Repeat("\u202E", 40) + "bob", "bob"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(cleanName(nil, []byte(tc.raw))); got != tc.want {
				t.Errorf("cleanName(%q) = %q, want %q", tc.raw, got, tc.want)
			}
		})
	}
}

// A sanitizing relay strips what a terminal acts on and nothing else.
func TestAppendClean(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"plain-ascii-unchanged", "hello, world ~", "hello, world ~"},
		{"tab-stays", "a\tb", "a\tb"},
		{"carriage-return-goes", "hi\r<bob> x", "hi<bob> x"},
		{"escape-sequences-lose-their-escape", "\x1b[2J\x1b]0;t\x07", "[2J]0;t"},
		{"every-c0-but-tab-and-del-go", "\x00\x01\n\x0b\x0c\x1f\x7fz", "z"},
		{"c1-controls-go", "a\u0080b\u0085c\u009bd\u009fe", "abcde"},
		{"stray-c1-bytes-go", "a\x9bb\x85c", "abc"},
		{"other-invalid-utf8-stays", "a\xffb\xc3", "a\xffb\xc3"},
		{"bidi-controls-go", "\u202Eabc\u202C\u2066d\u2069\u200E\u200F\u061C", "abcd"},
		{"printable-unicode-stays", "zoë \u00a0 日本 \U0001F600 \u200d", "zoë \u00a0 日本 \U0001F600 \u200d"},
		{"nothing-left", "\r\x1b", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(appendClean([]byte("<n> "), []byte(tc.in)))
			if got != "<n> "+tc.want {
				t.Errorf("appendClean(%q) = %q, want %q", tc.in, got[4:], tc.want)
			}
			if needs := needsCleaning([]byte(tc.in)); needs != (tc.in != tc.want) {
				t.Errorf("needsCleaning(%q) = %v", tc.in, needs)
			}
		})
	}
}

// Cleaning a payload into scratch space that has grown allocates nothing.
func TestAppendCleanAllocatesNothing(t *testing.T) {
	p := []byte("hi\r\x1b[2K\u0085\u202Eevil and more text after it")
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = appendClean(buf[:0], p); _ = needsCleaning(p) }); n != 0 {
		t.Fatalf("%v allocations per clean, want 0", n)
	}
}
