package endpoints

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/pxroute/pxroute/contract"
)

func testZMTP(socket zmtpSocket) *zmtpFraming {
	return &zmtpFraming{socket: socket, maxParts: 8, subscribe: []string{"t."}, maxFrame: 1 << 16}
}

// zmtpWire joins what EncodeParts wrote.
func zmtpWire(f *zmtpFraming, parts ...[]byte) []byte {
	_, segs := f.EncodeParts(nil, nil, parts)
	return bytes.Join(segs, nil)
}

// TestZMTPFramesRoundTrip: what EncodeParts writes, SplitParts reads back
// part for part, short and LONG sizes alike; cut short it asks for more;
// max bounds the whole message and max_parts its frames; a LONG size over
// max or of 2^63 is refused from its 9 header bytes alone.
func TestZMTPFramesRoundTrip(t *testing.T) {
	f := testZMTP(zmtpPull)
	for _, want := range [][][]byte{{{}}, {[]byte("a")}, {{}, []byte("topic"), {}}, {bytes.Repeat([]byte("x"), 255), bytes.Repeat([]byte("y"), 256)}} {
		wire := zmtpWire(f, want...)
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
			if !bytes.Equal(wire[p.Lo:p.Hi], want[i]) {
				t.Fatalf("part %d differs", i)
			}
		}
		if _, _, err := f.SplitParts(wire, len(wire)-1, nil); err == nil {
			t.Fatal("a message one byte over max was not refused")
		}
	}
	nine := func(size uint64) []byte { return binary.BigEndian.AppendUint64([]byte{zmtpLong}, size) }
	for _, hdr := range [][]byte{nine(1 << 63), nine(^uint64(0)), nine(1 << 16)} {
		if _, _, err := f.SplitParts(hdr, 1<<16, nil); err == nil {
			t.Fatalf("header % x not refused from itself alone", hdr)
		}
	}
	var nineParts [][]byte
	for range 9 {
		nineParts = append(nineParts, []byte("p"))
	}
	if _, _, err := f.SplitParts(zmtpWire(f, nineParts...)[:8*3+2], 1<<16, nil); err == nil {
		t.Fatal("a ninth part with max_parts 8 was not refused from its header")
	}
}

// FuzzZMTP feeds arbitrary bytes to every ZMTP decoder: the greeting, a
// whole session (handshake, then each framed message to Control), the
// frame splitter and the property parser. None may panic or consume more
// than it was given; what splits re-encodes to the same parts, and what
// parses as properties re-encodes to the same properties.
func FuzzZMTP(f *testing.F) {
	fr := testZMTP(zmtpPub)
	greeting := appendZMTPGreeting(nil, "NULL", false)
	ready := appendZMTPCmd(nil, "READY", appendZMTPProps(nil, zmtpProp{"Socket-Type", "SUB"}, zmtpProp{"Identity", ""}))
	f.Add(append(append([]byte{}, greeting...), ready...))
	f.Add(bytes.Join([][]byte{greeting, ready, appendZMTPCmd(nil, "SUBSCRIBE", []byte("t.")), appendZMTPCmd(nil, "PING", []byte{0, 1, 'c'}), {1, 3, 1, 't', '.'}}, nil))
	f.Add(zmtpWire(fr, []byte("a"), nil, []byte("b")))
	f.Add(appendZMTPProps(nil, zmtpProp{"Socket-Type", "PUB"}))
	f.Add([]byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		parseZMTPGreeting(b)
		if props, err := parseZMTPProps(b); err == nil {
			var again []zmtpProp
			for k, v := range props {
				again = append(again, zmtpProp{k, v})
			}
			if props2, err := parseZMTPProps(appendZMTPProps(nil, again...)); err != nil || len(props2) != len(props) {
				t.Fatalf("properties do not round-trip: %v", err)
			}
		}
		if wire, parts, err := fr.SplitParts(b, 1<<16, nil); err == nil && wire > 0 {
			if wire > len(b) || len(parts) == 0 {
				t.Fatalf("split %d of %d bytes into %d parts", wire, len(b), len(parts))
			}
			if b[0]&zmtpCommand == 0 {
				var payload [][]byte
				for _, p := range parts {
					payload = append(payload, b[p.Lo:p.Hi])
				}
				w2 := zmtpWire(fr, payload...)
				if n, parts2, err := fr.SplitParts(w2, 1<<16, nil); err != nil || n != len(w2) || len(parts2) != len(parts) {
					t.Fatalf("frames do not round-trip: %v", err)
				}
			}
		}
		for _, role := range []contract.Role{contract.RoleListen, contract.RoleConnect} {
			s := fr.NewSession(role)
			s.Start(nil)
			in, done := b, false
			for len(in) > 0 && !done {
				n, _, d, err := s.Handshake(in, nil)
				if err != nil || (n == 0 && !d) {
					break
				}
				if n < 0 || n > len(in) {
					t.Fatalf("handshake consumed %d of %d bytes", n, len(in))
				}
				in, done = in[n:], d
			}
			for done && len(in) > 0 {
				wire, parts, err := fr.SplitParts(in, 1<<16, nil)
				if err != nil || wire == 0 {
					break
				}
				if _, _, err := s.Control(contract.Message{Wire: in[:wire], Parts: parts}, nil); err != nil {
					break
				}
				in = in[wire:]
			}
		}
	})
}
