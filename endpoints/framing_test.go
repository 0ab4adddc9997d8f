package endpoints

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/pxroute/pxroute/contract"
)

func TestSplit(t *testing.T) {
	lp := func(n int, payload string) string {
		var h [8]byte
		binary.LittleEndian.PutUint64(h[:], uint64(n))
		return string(h[:]) + payload
	}
	be2, _ := NewLengthPrefix(2, true, false)
	le4incl, _ := NewLengthPrefix(4, false, true)
	one, _ := NewLengthPrefix(1, false, false)
	crlf2, _ := NewDelimiter([]byte("\r\n\r\n"), false)
	crlf2keep, _ := NewDelimiter([]byte("\r\n\r\n"), true)
	cases := []struct {
		name    string
		f       contract.Framing
		in      string
		max     int
		wire    int
		payload string
		err     error
	}{
		{"raw/all", Raw, "abc", 1, 3, "abc", nil},
		{"raw/empty", Raw, "", 10, 0, "", nil},
		{"lines/lf", Lines, "ab\ncd", 10, 3, "ab", nil},
		{"lines/crlf", Lines, "ab\r\ncd", 10, 4, "ab", nil},
		{"lines/empty-line", Lines, "\nx", 10, 1, "", nil},
		{"lines/partial", Lines, "abc", 10, 0, "", nil},
		{"lines/exactly-max", Lines, "abcd\n", 5, 5, "abcd", nil},
		{"lines/one-over-max", Lines, "abcde\n", 5, 0, "", ErrTooLarge},
		{"lines/no-newline-by-max", Lines, "abcde", 5, 0, "", ErrTooLarge},
		{"lines/lone-cr-kept", Lines, "a\rb\n", 10, 4, "a\rb", nil},
		{"lp/short-header", LengthPrefix, "1234567", 10, 0, "", nil},
		{"lp/empty", LengthPrefix, lp(0, ""), 10, 8, "", nil},
		{"lp/whole", LengthPrefix, lp(3, "abcdef"), 10, 11, "abc", nil},
		{"lp/partial", LengthPrefix, lp(5, "ab"), 10, 0, "", nil},
		{"lp/at-max", LengthPrefix, lp(10, "0123456789"), 10, 18, "0123456789", nil},
		{"lp/over-max-from-header", LengthPrefix, lp(11, ""), 10, 0, "", ErrTooLarge},
		{"lp/huge", LengthPrefix, lp(-1, ""), 1 << 30, 0, "", ErrTooLarge},
		{"lines-keep/lf", LinesKeep, "ab\ncd", 10, 3, "ab\n", nil},
		{"lines-keep/crlf", LinesKeep, "ab\r\n", 10, 4, "ab\r\n", nil},
		{"delim/whole", crlf2, "a\r\nb\r\n\r\nc", 10, 8, "a\r\nb", nil},
		{"delim/partial-delimiter", crlf2, "ab\r\n\r", 10, 0, "", nil},
		{"delim/at-max", crlf2, "abcd\r\n\r\n", 4, 8, "abcd", nil},
		{"delim/over-max", crlf2, "abcde\r\n\r\n", 4, 0, "", ErrTooLarge},
		{"delim/keep", crlf2keep, "ab\r\n\r\nc", 10, 6, "ab\r\n\r\n", nil},
		{"be2/whole", be2, "\x00\x03abcd", 10, 5, "abc", nil},
		{"be2/over-max", be2, "\x01\x00", 255, 0, "", ErrTooLarge},
		{"le4-inclusive/whole", le4incl, "\x06\x00\x00\x00abc", 10, 6, "ab", nil},
		{"le4-inclusive/empty", le4incl, "\x04\x00\x00\x00", 10, 4, "", nil},
		{"le4-inclusive/shorter-than-header", le4incl, "\x03\x00\x00\x00", 10, 0, "", ErrBadHeader},
		{"u8/whole", one, "\x02hi!", 10, 3, "hi", nil},
		{"datagram/all", Datagram, "a\nb", 10, 3, "a\nb", nil},
		{"datagram/over-max", Datagram, "abc", 2, 0, "", ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wire, lo, hi, err := tc.f.Split([]byte(tc.in), tc.max)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if wire != tc.wire {
				t.Fatalf("wire %d, want %d", wire, tc.wire)
			}
			if wire > 0 && tc.in[lo:hi] != tc.payload {
				t.Fatalf("payload %q, want %q", tc.in[lo:hi], tc.payload)
			}
		})
	}
}

// encode builds the wire form of payloads in framing f.
func encode(f contract.Framing, payloads [][]byte) []byte {
	var out []byte
	var hdr [8]byte
	for _, p := range payloads {
		head, tail := f.Encode(hdr[:], [][]byte{p})
		out = append(append(append(out, head...), p...), tail...)
	}
	return out
}

// decodeAll splits b completely; it fails on leftovers.
func decodeAll(t testing.TB, f contract.Framing, b []byte, max int) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		wire, lo, hi, err := f.Split(b, max)
		if err != nil {
			t.Fatalf("split: %v", err)
		}
		if wire == 0 {
			t.Fatalf("%d bytes left unsplit", len(b))
		}
		out = append(out, b[lo:hi])
		b = b[wire:]
	}
	return out
}

// Encoding then decoding keeps message boundaries and bytes, however the
// stream is cut into reads.
func roundTrip(t *testing.T, f contract.Framing, payloads [][]byte, cut int) {
	wire := encode(f, payloads)
	// Feed it in chunks of cut bytes, carrying partial messages, as a
	// connection does.
	var got [][]byte
	var carry []byte
	for off := 0; off < len(wire); off += cut {
		carry = append(carry, wire[off:min(off+cut, len(wire))]...)
		for {
			n, lo, hi, err := f.Split(carry, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			got = append(got, append([]byte(nil), carry[lo:hi]...))
			carry = carry[n:]
		}
	}
	if len(carry) != 0 || len(got) != len(payloads) {
		t.Fatalf("%s: %d messages and %d bytes left, want %d", f.Name(), len(got), len(carry), len(payloads))
	}
	for i := range got {
		if !bytes.Equal(got[i], payloads[i]) {
			t.Fatalf("%s: message %d is %q, want %q", f.Name(), i, got[i], payloads[i])
		}
	}
}

func TestRoundTrip(t *testing.T) {
	payloads := [][]byte{[]byte("one"), {}, []byte("three with spaces"), bytes.Repeat([]byte("x"), 70000)}
	binary := append(payloads, []byte("a\nb\x00\r\n\r"))
	var lps []contract.Framing
	for _, size := range []int{1, 2, 4, 8} {
		for _, big := range []bool{false, true} {
			for _, incl := range []bool{false, true} {
				f, err := NewLengthPrefix(size, big, incl)
				if err != nil {
					t.Fatal(err)
				}
				lps = append(lps, f)
			}
		}
	}
	crlf2, _ := NewDelimiter([]byte("\r\n\r\n"), false)
	nul, _ := NewDelimiter([]byte{0}, false)
	for _, cut := range []int{1, 3, 8, 9, 4096, 1 << 20} {
		for _, f := range lps {
			fits := binary
			if limit := f.(contract.Capped).MaxPayload(); limit < 70000 {
				fits = [][]byte{[]byte("one"), {}, bytes.Repeat([]byte("y"), limit)}
			}
			roundTrip(t, f, fits, cut)
		}
		roundTrip(t, Lines, payloads, cut) // lines payloads cannot hold '\n'
		roundTrip(t, LinesKeep, [][]byte{[]byte("a\n"), []byte("b\r\n"), []byte("\n")}, cut)
		roundTrip(t, crlf2, append(payloads, []byte("a\r\nb\n\r")), cut)
		roundTrip(t, nul, append(payloads, []byte("a\nb\r\n")), cut)
	}
}

func FuzzLines(f *testing.F) {
	f.Add([]byte("hello\nworld\r\n"), 16, false)
	f.Add([]byte("\n\r\n\r"), 2, true)
	f.Fuzz(func(t *testing.T, b []byte, max int, keep bool) {
		fr := Lines
		if keep {
			fr = LinesKeep
		}
		checkFraming(t, fr, b, max)
	})
}

func FuzzDelimiter(f *testing.F) {
	f.Add([]byte("GET /\r\n\r\nbody\r\n\r\n"), 64, []byte("\r\n\r\n"), false)
	f.Add([]byte("ababab"), 3, []byte("aba"), true)
	f.Add([]byte("x\x00y\x00"), 1, []byte{0}, false)
	f.Fuzz(func(t *testing.T, b []byte, max int, delim []byte, keep bool) {
		fr, err := NewDelimiter(delim, keep)
		if err != nil {
			if len(delim) != 0 {
				t.Fatalf("NewDelimiter(%q): %v", delim, err)
			}
			return
		}
		checkFraming(t, fr, b, max)
	})
}

func FuzzLengthPrefix(f *testing.F) {
	f.Add(encode(LengthPrefix, [][]byte{[]byte("abc"), {}}), 8, uint8(3), false, false)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 1<<20, uint8(3), true, false)
	f.Add([]byte{0, 2, 0, 3, 'a'}, 10, uint8(1), true, true)
	f.Add([]byte{1, 'a', 0}, 1, uint8(0), false, true)
	f.Fuzz(func(t *testing.T, b []byte, max int, sizeLog uint8, big, inclusive bool) {
		fr, err := NewLengthPrefix(1<<(sizeLog%4), big, inclusive)
		if err != nil {
			t.Fatal(err)
		}
		checkFraming(t, fr, b, max)
	})
}

func FuzzRaw(f *testing.F) {
	f.Add([]byte("hello\nworld\r\n"), 16)
	f.Fuzz(func(t *testing.T, b []byte, max int) { checkFraming(t, Raw, b, max) })
}

func FuzzDatagram(f *testing.F) {
	f.Add([]byte("one datagram"), 16)
	f.Add([]byte("too long for max"), 4)
	f.Fuzz(func(t *testing.T, b []byte, max int) { checkFraming(t, Datagram, b, max) })
}

// checkFraming: Split never panics, never claims more than it was given or
// a payload outside the wire, and never passes max; and the messages it
// finds, encoded again, decode to the same messages.
func checkFraming(t *testing.T, fr contract.Framing, b []byte, max int) {
	if max <= 0 || max > 1<<24 {
		return
	}
	wire, lo, hi, err := fr.Split(b, max)
	if err != nil {
		if fr == Raw {
			t.Fatalf("raw split failed: %v", err)
		}
		return
	}
	if wire < 0 || wire > len(b) || lo < 0 || lo > hi || hi > wire {
		t.Fatalf("split(%d bytes) = %d, %d, %d", len(b), wire, lo, hi)
	}
	if fr != Raw && hi-lo > max {
		t.Fatalf("payload of %d over max %d", hi-lo, max)
	}
	if !fr.Boundaries() || fr == Datagram {
		return // a stream of them is one read, not messages to split again
	}
	var msgs [][]byte
	rest := b
	for len(rest) > 0 {
		n, lo, hi, err := fr.Split(rest, max)
		if err != nil || n == 0 {
			break
		}
		msgs = append(msgs, rest[lo:hi])
		rest = rest[n:]
	}
	// Re-encoding may add a terminator the payload lacked (lines/keep);
	// allow for it in max.
	again := decodeAll(t, fr, encode(fr, msgs), max+16)
	if len(again) != len(msgs) {
		t.Fatalf("%s: re-encoded %d messages, decoded %d", fr.Name(), len(msgs), len(again))
	}
	for i := range msgs {
		if !bytes.Equal(again[i], msgs[i]) {
			t.Fatalf("%s: message %d: %q became %q", fr.Name(), i, msgs[i], again[i])
		}
	}
}

// Decoders run on every message: no allocation.
func BenchmarkSplit(b *testing.B) {
	lines := bytes.Repeat([]byte("a line of sixty-four bytes, give or take a few characters!!!\n"), 1000)
	lp := encode(LengthPrefix, bytes.Split(lines, []byte("\n")))
	for _, tc := range []struct {
		f  contract.Framing
		in []byte
	}{{Lines, lines}, {LengthPrefix, lp}, {Raw, lines}} {
		b.Run(tc.f.Name(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.in)))
			for b.Loop() {
				rest := tc.in
				for len(rest) > 0 {
					n, _, _, err := tc.f.Split(rest, 1<<20)
					if err != nil || n == 0 {
						b.Fatal("split failed")
					}
					rest = rest[n:]
				}
			}
		})
	}
}
