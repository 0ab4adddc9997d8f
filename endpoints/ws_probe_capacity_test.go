package endpoints

import (
	"encoding/binary"
	"testing"
)

// TestWebSocketReassemblyCapacity: a fragmented message up to max_frame
// is reassembled in at most max_frame bytes of buffer, whatever its
// fragments' sizes: append's own growth would keep up to a quarter more,
// per connection.
func TestWebSocketReassemblyCapacity(t *testing.T) {
	const limit = 64 << 10
	for _, size := range []int{1, 1000, 4 << 10, 10000, limit / 2, limit - 1} {
		d := wsDecoder{masked: true, max: limit}
		peak, sent := 0, 0
		for sent < limit {
			n := min(size, limit-sent)
			op := byte(0)
			if sent == 0 {
				op = wsOpBinary
			}
			if sent+n == limit {
				op |= wsFin
			}
			frame := []byte{op, wsMask | 126, 0, 0, 0, 0, 0, 0}
			binary.BigEndian.PutUint16(frame[2:], uint16(n))
			frame = append(frame, make([]byte, n)...) // a zero key: as is
			if _, err := d.decode(frame, nil); err != nil {
				t.Fatalf("fragments of %d: %v", size, err)
			}
			sent += n
			peak = max(peak, cap(d.gathered().msg))
		}
		if peak > limit {
			t.Errorf("fragments of %d bytes: reassembly buffer grew to %d bytes for a %d-byte message", size, peak, limit)
		}
	}
}
