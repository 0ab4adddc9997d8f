package tests

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints"
)

// partsFraming is a multipart framing for tests only (ZMTP and NATS bring
// the real ones): each part is a 4-byte big-endian header, its top bit set
// when more parts follow and the rest the part's length, then the part.
// It exercises the Machine's multipart path over real sockets; it is
// registered as endpoint kind tcp-parts, a tcp endpoint with this framing.
type partsFraming struct{}

const moreParts = 1 << 31

var errPartsTooLarge = errors.New("test-parts: message larger than max_frame")

func (partsFraming) Name() string     { return "test-parts" }
func (partsFraming) Boundaries() bool { return true }

func (f partsFraming) Split(b []byte, max int) (int, int, int, error) {
	var scratch [8]contract.Part
	wire, parts, err := f.SplitParts(b, max, scratch[:0])
	if wire == 0 || err != nil {
		return wire, 0, 0, err
	}
	return wire, parts[0].Lo, parts[0].Hi, nil
}

// SplitParts reads parts until one without the more bit; max bounds the
// whole wire, headers included.
func (partsFraming) SplitParts(b []byte, max int, parts []contract.Part) (int, []contract.Part, error) {
	at := 0
	for {
		if len(b)-at < 4 {
			if at+4 > max {
				return 0, parts, errPartsTooLarge
			}
			return 0, parts, nil
		}
		h := binary.BigEndian.Uint32(b[at:])
		n := int(h &^ moreParts)
		if at+4+n > max {
			return 0, parts, errPartsTooLarge
		}
		if len(b)-at-4 < n {
			return 0, parts, nil
		}
		parts = append(parts, contract.Part{Lo: at + 4, Hi: at + 4 + n})
		at += 4 + n
		if h&moreParts == 0 {
			return at, parts, nil
		}
	}
}

// Encode writes the payload as one part.
func (partsFraming) Encode(hdr []byte, payload [][]byte) ([]byte, []byte) {
	n := 0
	for _, p := range payload {
		n += len(p)
	}
	binary.BigEndian.PutUint32(hdr, uint32(n))
	return hdr[:4], nil
}

func (partsFraming) EncodeParts(hdr []byte, segs [][]byte, payload [][]byte) ([]byte, [][]byte) {
	for i, p := range payload {
		h := uint32(len(p))
		if i < len(payload)-1 {
			h |= moreParts
		}
		at := len(hdr)
		hdr = binary.BigEndian.AppendUint32(hdr, h)
		segs = append(segs, hdr[at:len(hdr):len(hdr)], p)
	}
	return hdr, segs
}

var (
	_ contract.Framing   = partsFraming{}
	_ contract.Multipart = partsFraming{}
)

func init() {
	tcp, ok := endpoints.Lookup("tcp")
	if !ok {
		panic("no tcp endpoint kind")
	}
	endpoints.Register("tcp-parts", func(p endpoints.Params) endpoints.Endpoint {
		e := tcp(p)
		if e != nil {
			e.Settings().Framing = partsFraming{}
		}
		return e
	})
}

// encodeParts is one test-parts message.
func encodeParts(parts ...string) []byte {
	var b []byte
	for i, p := range parts {
		h := uint32(len(p))
		if i < len(parts)-1 {
			h |= moreParts
		}
		b = binary.BigEndian.AppendUint32(b, h)
		b = append(b, p...)
	}
	return b
}

// readParts reads one test-parts message.
func readParts(t *testing.T, r io.Reader) []string {
	t.Helper()
	var parts []string
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			t.Fatalf("after %d parts: header: %v", len(parts), err)
		}
		h := binary.BigEndian.Uint32(hdr[:])
		p := make([]byte, h&^moreParts)
		if _, err := io.ReadFull(r, p); err != nil {
			t.Fatalf("after %d parts: part: %v", len(parts), err)
		}
		parts = append(parts, string(p))
		if h&moreParts == 0 {
			return parts
		}
	}
}

// TestPartsFramingRoundTrip: what EncodeParts writes, SplitParts reads
// back part for part; a message cut short asks for more, and max bounds
// the whole wire.
func TestPartsFramingRoundTrip(t *testing.T) {
	var f partsFraming
	cases := [][]string{{"a"}, {"topic", "body"}, {"", "", ""}, {"x", "", "yz"}}
	for _, want := range cases {
		t.Run(fmt.Sprintf("%q", want), func(t *testing.T) {
			var payload [][]byte
			for _, p := range want {
				payload = append(payload, []byte(p))
			}
			_, segs := f.EncodeParts(nil, nil, payload)
			var wire []byte
			for _, s := range segs {
				wire = append(wire, s...)
			}
			if string(wire) != string(encodeParts(want...)) {
				t.Fatalf("EncodeParts wrote %q, want %q", wire, encodeParts(want...))
			}
			for cut := range len(wire) {
				if n, _, err := f.SplitParts(wire[:cut], len(wire), nil); n != 0 || err != nil {
					t.Fatalf("%d of %d bytes: split %d, %v; want more needed", cut, len(wire), n, err)
				}
			}
			n, parts, err := f.SplitParts(wire, len(wire), nil)
			if n != len(wire) || err != nil || len(parts) != len(want) {
				t.Fatalf("split %d, %d parts, %v; want %d, %d parts", n, len(parts), err, len(wire), len(want))
			}
			for i, p := range parts {
				if string(wire[p.Lo:p.Hi]) != want[i] {
					t.Fatalf("part %d is %q, want %q", i, wire[p.Lo:p.Hi], want[i])
				}
			}
			if _, _, err := f.SplitParts(wire, len(wire)-1, nil); err == nil {
				t.Fatalf("a message one byte over max was not refused")
			}
		})
	}
}
