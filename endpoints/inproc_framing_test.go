package endpoints

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/pxroute/pxroute/contract"
)

// encodeInproc writes msg as EncodeParts does, as one byte string.
func encodeInproc(msg [][]byte) []byte {
	_, segs := Inproc.(contract.Multipart).EncodeParts(nil, nil, msg)
	return bytes.Join(segs, nil)
}

// FuzzInprocFraming: what EncodeParts and AppendInproc write, SplitParts
// reads back part for part, the wire length exactly, whatever follows;
// any prefix of it is incomplete, never an error or a message; and
// arbitrary bytes never yield parts outside the input or over max.
func FuzzInprocFraming(f *testing.F) {
	f.Add([]byte("abcdef"), []byte{2, 0, 3}, []byte("tail"), 1<<20)
	f.Add([]byte(""), []byte{}, []byte{}, 4)
	f.Add([]byte("x"), []byte{0, 0, 0}, binary.LittleEndian.AppendUint32(nil, 1<<31|5), 16)
	f.Fuzz(func(t *testing.T, payload, cuts, garbage []byte, max int) {
		mp := Inproc.(contract.Multipart)
		// Arbitrary input: parts lie in it, in order, within max.
		wire, parts, err := mp.SplitParts(garbage, max, nil)
		if err == nil && wire > 0 {
			at := 0
			for _, p := range parts {
				if p.Lo < at+inprocHeader || p.Hi < p.Lo || p.Hi > wire || p.Hi > max {
					t.Fatalf("SplitParts(%q, %d): part %v out of place (wire %d)", garbage, max, p, wire)
				}
				at = p.Hi
			}
			if at != wire || wire > len(garbage) {
				t.Fatalf("SplitParts(%q): parts end at %d, wire %d", garbage, at, wire)
			}
		}
		// Round trip of a message cut into parts.
		var msg [][]byte
		rest := payload
		for _, c := range cuts {
			k := min(int(c)%16, len(rest))
			msg, rest = append(msg, rest[:k]), rest[k:]
		}
		msg = append(msg, rest)
		enc := encodeInproc(msg)
		if app := AppendInproc(nil, msg); !bytes.Equal(app, enc) {
			t.Fatalf("AppendInproc %q, EncodeParts %q", app, enc)
		}
		in := append(append([]byte(nil), enc...), garbage...)
		wire, parts, err = mp.SplitParts(in, len(enc), nil)
		if err != nil || wire != len(enc) || len(parts) != len(msg) {
			t.Fatalf("SplitParts of %q: wire %d of %d, %d parts of %d, %v", msg, wire, len(enc), len(parts), len(msg), err)
		}
		for i, p := range parts {
			if !bytes.Equal(in[p.Lo:p.Hi], msg[i]) {
				t.Fatalf("part %d: %q, want %q", i, in[p.Lo:p.Hi], msg[i])
			}
		}
		if len(enc) > 0 {
			if _, _, err := mp.SplitParts(in, len(enc)-1, nil); err == nil {
				t.Fatalf("a message of %d bytes passed max_frame %d", len(enc), len(enc)-1)
			}
		}
		for k := range len(enc) {
			if wire, parts, err := mp.SplitParts(enc[:k], len(enc), nil); wire != 0 || len(parts) != 0 || err != nil {
				t.Fatalf("a prefix of %d of %d bytes: wire %d, %d parts, %v", k, len(enc), wire, len(parts), err)
			}
		}
	})
}
