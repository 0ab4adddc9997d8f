package endpoints

import (
	"bytes"
	"testing"
)

// A fault in a read gives back, with its error, the frames that were
// whole before it and nothing of the frame at fault, however it arrived:
// the machine delivers those and then closes the connection.
func TestWebSocketDecodeKeepsWhatCameBeforeAFault(t *testing.T) {
	good := wsF(wsOpText, "before the fault")
	want := append(appendWSHeader(nil, wsOpText, len(good.payload)), good.payload...)
	cases := []struct {
		name string
		bad  wsTestFrame
		code uint16
	}{
		{"unmasked", func() wsTestFrame { f := wsF(wsOpText, "x"); f.unmasked = true; return f }(), wsCloseProtocol},
		{"invalid UTF-8 inside the frame", wsF(wsOpText, "a\xc0\xafb"), wsCloseBadData},
		{"ends inside a UTF-8 sequence", wsF(wsOpText, "ab\xcf"), wsCloseBadData},
		{"reserved bit", func() wsTestFrame { f := wsF(wsOpText, "x"); f.rsv = 4; return f }(), wsCloseProtocol},
	}
	for _, c := range cases {
		wire := append(good.wire(), c.bad.wire()...)
		for _, cut := range []int{len(wire), len(good.wire()) + 3, len(good.wire()) + 1} {
			d := wsDecoder{masked: true, max: 1 << 20}
			got, err := d.decode(wire[:cut], nil)
			if err == nil && cut < len(wire) {
				more, err2 := d.decode(wire[cut:], nil)
				got, err = append(got, more...), err2
			}
			e, ok := err.(*wsError)
			if !ok || e.code != c.code {
				t.Fatalf("%s, cut at %d: error %v, want close %d", c.name, cut, err, c.code)
			}
			if !bytes.HasPrefix(got, want) {
				t.Fatalf("%s, cut at %d: the frame before the fault is missing: %q", c.name, cut, got)
			}
			if rest := got[len(want):]; len(rest) > 0 && cut == len(wire) {
				t.Fatalf("%s: %q of the frame at fault given back", c.name, rest)
			}
		}
	}
}
