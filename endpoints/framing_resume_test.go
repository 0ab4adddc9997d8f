package endpoints

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pxroute/pxroute/contract"
)

// A message arriving over several reads is found by searching each read's
// bytes once: SplitFrom resumes at the scanned mark of the read before and
// finds what Split over the whole would.
func TestSplitFromResumes(t *testing.T) {
	crlf2, _ := NewDelimiter([]byte("\r\n\r\n"), false)
	crlf2keep, _ := NewDelimiter([]byte("\r\n\r\n"), true)
	aba, _ := NewDelimiter([]byte("aba"), false)
	nul, _ := NewDelimiter([]byte{0}, false)
	cases := []struct {
		name    string
		f       contract.Framing
		max     int
		reads   []string // what arrives, read by read
		scanned []int    // the mark after each read but the last
		wire    int      // after the last read
		payload string
		err     error
	}{
		{"lines/split-across-reads", Lines, 100, []string{"abc", "def", "g\nh"}, []int{3, 6}, 8, "abcdefg", nil},
		{"lines/crlf-split-between-cr-and-lf", Lines, 100, []string{"ab\r", "\ncd"}, []int{3}, 4, "ab", nil},
		{"lines/strip-false-keeps-crlf", LinesKeep, 100, []string{"ab\r", "\n"}, []int{3}, 4, "ab\r\n", nil},
		{"lines/lf-first-byte-of-a-read", Lines, 100, []string{"abc", "\n"}, []int{3}, 4, "abc", nil},
		{"lines/exactly-max", Lines, 5, []string{"ab", "cd", "\n"}, []int{2, 4}, 5, "abcd", nil},
		{"lines/max-without-lf", Lines, 5, []string{"abc", "de"}, []int{3}, 0, "", ErrTooLarge},
		{"lines/lf-one-past-max", Lines, 5, []string{"abcd", "e\n"}, []int{4}, 0, "", ErrTooLarge},
		{"delimiter/split-across-reads", crlf2, 100, []string{"ab", "cd\r\n\r\nx"}, []int{0}, 8, "abcd", nil},
		{"delimiter/straddles-two-reads", crlf2, 100, []string{"abc\r\n", "\r\nx"}, []int{2}, 7, "abc", nil},
		{"delimiter/straddles-four-reads", crlf2, 100, []string{"abc\r", "\n", "\r", "\n"}, []int{1, 2, 3}, 7, "abc", nil},
		{"delimiter/false-start-then-real-one", crlf2, 100, []string{"a\r\n\r", "x\r\n", "\r\n"}, []int{1, 4}, 9, "a\r\n\rx", nil},
		{"delimiter/self-overlapping", aba, 100, []string{"xab", "aba"}, []int{1}, 4, "x", nil},
		{"delimiter/strip-false-keeps-it", crlf2keep, 100, []string{"ab\r\n", "\r\n"}, []int{1}, 6, "ab\r\n\r\n", nil},
		{"delimiter/one-byte", nul, 100, []string{"ab", "c\x00"}, []int{2}, 4, "abc", nil},
		{"delimiter/exactly-max", crlf2, 4, []string{"ab", "cd\r\n", "\r\n"}, []int{0, 3}, 8, "abcd", nil},
		{"delimiter/one-over-max", crlf2, 4, []string{"abcde\r", "\n\r\n"}, []int{3}, 0, "", ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := tc.f.(contract.Resumer)
			if !ok {
				t.Fatalf("%s has no SplitFrom", tc.f.Name())
			}
			var b []byte
			from := 0
			for i, read := range tc.reads {
				b = append(b, read...)
				wire, lo, hi, scanned, err := r.SplitFrom(b, tc.max, from)
				// Split over everything so far is the oracle.
				w0, lo0, hi0, err0 := tc.f.Split(b, tc.max)
				if wire != w0 || lo != lo0 || hi != hi0 || !errors.Is(err, err0) {
					t.Fatalf("read %d: SplitFrom(%q, from %d) = %d, %d, %d, %v; Split = %d, %d, %d, %v",
						i, b, from, wire, lo, hi, err, w0, lo0, hi0, err0)
				}
				if i == len(tc.reads)-1 {
					if !errors.Is(err, tc.err) || wire != tc.wire {
						t.Fatalf("wire %d, err %v; want %d, %v", wire, err, tc.wire, tc.err)
					}
					if wire > 0 && string(b[lo:hi]) != tc.payload {
						t.Fatalf("payload %q, want %q", b[lo:hi], tc.payload)
					}
					return
				}
				if wire != 0 || err != nil {
					t.Fatalf("read %d: %d, %v before the message is whole", i, wire, err)
				}
				if scanned != tc.scanned[i] {
					t.Fatalf("read %d: scanned %d, want %d", i, scanned, tc.scanned[i])
				}
				from = scanned
			}
		})
	}
}

func FuzzLinesResume(f *testing.F) {
	f.Add([]byte("hello\nworld\r\n"), 16, uint8(3), false)
	f.Add([]byte("ab\r\ncd"), 3, uint8(1), true)
	f.Fuzz(func(t *testing.T, b []byte, max int, cut uint8, keep bool) {
		fr := Lines
		if keep {
			fr = LinesKeep
		}
		checkResume(t, fr, b, max, int(cut))
	})
}

func FuzzDelimiterResume(f *testing.F) {
	f.Add([]byte("GET /\r\n\r\nbody\r\n\r\n"), 64, []byte("\r\n\r\n"), uint8(2), false)
	f.Add([]byte("xababab"), 3, []byte("aba"), uint8(1), true)
	f.Fuzz(func(t *testing.T, b []byte, max int, delim []byte, cut uint8, keep bool) {
		fr, err := NewDelimiter(delim, keep)
		if err != nil {
			return
		}
		checkResume(t, fr, b, max, int(cut))
	})
}

// checkResume feeds b in reads of cut bytes, as a connection does: after
// every read, SplitFrom from the last mark agrees with Split over all the
// carried bytes, its mark never goes back nor past the bytes given, and a
// message split off starts the next search afresh.
func checkResume(t *testing.T, fr contract.Framing, b []byte, max, cut int) {
	if max <= 0 || max > 1<<24 {
		return
	}
	cut = cut%16 + 1
	r := fr.(contract.Resumer)
	var carry []byte
	from := 0
	for off := 0; off < len(b); off += cut {
		carry = append(carry, b[off:min(off+cut, len(b))]...)
		for len(carry) > 0 {
			wire, lo, hi, scanned, err := r.SplitFrom(carry, max, from)
			w0, lo0, hi0, err0 := fr.Split(carry, max)
			if wire != w0 || lo != lo0 || hi != hi0 || !errors.Is(err, err0) {
				t.Fatalf("%s: SplitFrom(%q, %d, from %d) = %d, %d, %d, %v; Split = %d, %d, %d, %v",
					fr.Name(), carry, max, from, wire, lo, hi, err, w0, lo0, hi0, err0)
			}
			if err != nil {
				return // the connection would close
			}
			if wire == 0 {
				if scanned < from || scanned > len(carry) {
					t.Fatalf("%s: mark %d from %d over %d bytes", fr.Name(), scanned, from, len(carry))
				}
				from = scanned
				break
			}
			carry = bytes.Clone(carry[wire:])
			from = 0
		}
	}
}

// BenchmarkDribbledLine frames a 1 MiB line arriving in 1 KiB reads, as a
// connection's carry buffer grows: "from-start" searches all of it on
// every read (what the Machine did before it resumed), "resumed" searches
// each read's bytes once.
func BenchmarkDribbledLine(b *testing.B) {
	const line, read = 1 << 20, 1 << 10
	msg := append(bytes.Repeat([]byte("x"), line-1), '\n')
	crlf2, _ := NewDelimiter([]byte("\r\n\r\n"), false)
	dmsg := append(bytes.Repeat([]byte("x"), line-4), "\r\n\r\n"...)
	for _, tc := range []struct {
		f   contract.Framing
		msg []byte
	}{{Lines, msg}, {crlf2, dmsg}} {
		for _, resume := range []bool{false, true} {
			name := tc.f.Name() + "/from-start"
			if resume {
				name = tc.f.Name() + "/resumed"
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(line)
				r := tc.f.(contract.Resumer)
				for b.Loop() {
					from := 0
					for n := read; ; n += read {
						var wire int
						var err error
						if resume {
							wire, _, _, from, err = r.SplitFrom(tc.msg[:n], line, from)
						} else {
							wire, _, _, err = tc.f.Split(tc.msg[:n], line)
						}
						if err != nil {
							b.Fatal(err)
						}
						if wire > 0 {
							break
						}
					}
				}
			})
		}
	}
}
