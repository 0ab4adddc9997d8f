package endpoints

import (
	"bytes"
	"testing"

	"github.com/pxroute/pxroute/contract"
)

// TestEncodeOfSlicesIsEncodeOfTheirJoin: a payload handed to Encode as
// several slices (a multipart message reaching a single-part framing) is
// framed exactly as the same bytes in one slice would be, for every
// framing, wherever the slices are cut (a terminator or delimiter split
// across parts, empty parts, an empty payload).
func TestEncodeOfSlicesIsEncodeOfTheirJoin(t *testing.T) {
	crlf2keep, _ := NewDelimiter([]byte("\r\n\r\n"), true)
	crlf2, _ := NewDelimiter([]byte("\r\n\r\n"), false)
	be2, _ := NewLengthPrefix(2, true, false)
	le4incl, _ := NewLengthPrefix(4, false, true)
	framings := []contract.Framing{Raw, Datagram, Lines, LinesKeep, crlf2, crlf2keep, LengthPrefix, be2, le4incl}
	payloads := []struct {
		name  string
		parts []string
	}{
		{"one-part", []string{"abc"}},
		{"two-parts", []string{"topic", "body"}},
		{"cr-ends-the-last-part", []string{"a", "b\r"}},
		{"cr-before-an-empty-last-part", []string{"a\r", ""}},
		{"lf-ends-the-last-part", []string{"a", "b\n"}},
		{"delimiter-across-parts", []string{"x\r\n", "\r", "\n"}},
		{"delimiter-in-the-first-part-only", []string{"x\r\n\r\n", "y"}},
		{"empty-parts", []string{"", "", ""}},
		{"no-parts", nil},
	}
	for _, f := range framings {
		for _, p := range payloads {
			t.Run(f.Name()+"/"+p.name, func(t *testing.T) {
				var slices [][]byte
				for _, s := range p.parts {
					slices = append(slices, []byte(s))
				}
				joined := bytes.Join(slices, nil)
				var h1, h2 [8]byte
				head, tail := f.Encode(h1[:], slices)
				wantHead, wantTail := f.Encode(h2[:], [][]byte{joined})
				if !bytes.Equal(head, wantHead) || !bytes.Equal(tail, wantTail) {
					t.Fatalf("Encode(%q) = %q, %q; Encode of the joined payload = %q, %q", p.parts, head, tail, wantHead, wantTail)
				}
			})
		}
	}
}

// FuzzEncodeOfSlices: wherever a payload is cut into slices, every
// framing frames it as it frames the whole.
func FuzzEncodeOfSlices(f *testing.F) {
	f.Add([]byte("ab\r\n\r\ncd\r"), []byte{1, 3, 0, 2})
	f.Add([]byte("x\n"), []byte{0, 1})
	f.Fuzz(func(t *testing.T, payload, cuts []byte) {
		var slices [][]byte
		rest := payload
		for _, c := range cuts {
			k := min(int(c)%8, len(rest))
			slices, rest = append(slices, rest[:k]), rest[k:]
		}
		slices = append(slices, rest)
		crlf2keep, _ := NewDelimiter([]byte("\r\n\r\n"), true)
		le2, _ := NewLengthPrefix(2, false, false)
		for _, fr := range []contract.Framing{Raw, Datagram, Lines, LinesKeep, crlf2keep, LengthPrefix, le2} {
			var h1, h2 [8]byte
			head, tail := fr.Encode(h1[:], slices)
			wantHead, wantTail := fr.Encode(h2[:], [][]byte{payload})
			if !bytes.Equal(head, wantHead) || !bytes.Equal(tail, wantTail) {
				t.Fatalf("%s: Encode of %q = %q, %q; of the whole = %q, %q", fr.Name(), slices, head, tail, wantHead, wantTail)
			}
		}
	})
}
