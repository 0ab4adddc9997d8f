package endpoints

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestSplit(t *testing.T) {
	lp := func(n int, payload string) string {
		var h [8]byte
		binary.LittleEndian.PutUint64(h[:], uint64(n))
		return string(h[:]) + payload
	}
	cases := []struct {
		name    string
		f       Framing
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
func encode(f Framing, payloads [][]byte) []byte {
	var out []byte
	var hdr [8]byte
	for _, p := range payloads {
		head, tail := f.Encode(hdr[:], p)
		out = append(append(append(out, head...), p...), tail...)
	}
	return out
}

// decodeAll splits b completely; it fails on leftovers.
func decodeAll(t testing.TB, f Framing, b []byte, max int) [][]byte {
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
func roundTrip(t *testing.T, f Framing, payloads [][]byte, cut int) {
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
	for _, cut := range []int{1, 3, 8, 9, 4096, 1 << 20} {
		roundTrip(t, LengthPrefix, append(payloads, []byte("a\nb\x00")), cut)
		roundTrip(t, Lines, payloads, cut) // lines payloads cannot hold '\n'
	}
}

func FuzzLines(f *testing.F)        { fuzzFraming(f, Lines) }
func FuzzLengthPrefix(f *testing.F) { fuzzFraming(f, LengthPrefix) }
func FuzzRaw(f *testing.F)          { fuzzFraming(f, Raw) }

// fuzzFraming: Split never panics, never claims more than it was given or
// a payload outside the wire, and never passes max; and what Encode writes
// decodes to the same messages.
func fuzzFraming(f *testing.F, fr Framing) {
	f.Add([]byte("hello\nworld\r\n"), 16)
	f.Add(encode(LengthPrefix, [][]byte{[]byte("abc"), {}}), 8)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 1<<20)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
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
		// Round trip: split the input into whatever messages it holds,
		// re-encode them, and decode again.
		if fr == Lines {
			if bytes.IndexByte(b, '\n') < 0 {
				return
			}
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
		again := decodeAll(t, fr, encode(fr, msgs), max+2)
		if len(again) != len(msgs) && fr != Raw {
			t.Fatalf("re-encoded %d messages, decoded %d", len(msgs), len(again))
		}
		if fr != Raw {
			for i := range msgs {
				if !bytes.Equal(again[i], msgs[i]) {
					t.Fatalf("message %d: %q became %q", i, msgs[i], again[i])
				}
			}
		}
	})
}

// Decoders run on every message: no allocation.
func BenchmarkSplit(b *testing.B) {
	lines := bytes.Repeat([]byte("a line of sixty-four bytes, give or take a few characters!!!\n"), 1000)
	lp := encode(LengthPrefix, bytes.Split(lines, []byte("\n")))
	for _, tc := range []struct {
		f  Framing
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
