package endpoints

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// chunkConn is a peer's bytes as reads of at most step bytes each.
type chunkConn struct {
	net.Conn
	rest []byte
	step int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.step)], c.rest)
	c.rest = c.rest[n:]
	return n, nil
}

// tlsTestRecord is a record of typ with n payload bytes, each fill.
func tlsTestRecord(typ byte, n int, fill byte) []byte {
	return append([]byte{typ, 3, 3, byte(n >> 8), byte(n)}, bytes.Repeat([]byte{fill}, n)...)
}

// TestTLSRecordConnReuse: however the socket cuts the stream, the conn
// hands crypto/tls every byte in order and at most one record a Read,
// records up to the largest it lets through whole, reusing one read
// buffer; what it read past the records taken is the leftover.
func TestTLSRecordConnReuse(t *testing.T) {
	largest := tlsTestRecord(tlsTypeHandshake, tlsMaxRecordLength, 7)
	var many, mixed []byte
	for i := range 40 {
		r := tlsTestRecord(tlsTypeHandshake, 1000+i*13, byte(i))
		many, mixed = append(many, r...), append(mixed, r...)
		if i%7 == 3 {
			mixed = append(mixed, largest...)
		}
	}
	for _, tc := range []struct {
		name    string
		records []byte // what crypto/tls reads, record by record
		after   []byte // what follows them in the stream
	}{
		{"largest then more", append(append([]byte(nil), largest...), largest...), []byte("after")},
		{"many small", many, tlsTestRecord(23, 40, 9)},
		{"largest among small", mixed, nil},
	} {
		for _, step := range []int{1, 5, 1000, 4096, 1 << 16} {
			stream := append(append([]byte(nil), tc.records...), tc.after...)
			c := &tlsRecordConn{Conn: &chunkConn{rest: stream, step: step}}
			var got []byte
			p := make([]byte, 1<<16)
			for len(got) < len(tc.records) {
				atStart := c.left == 0
				n, err := c.Read(p)
				if err != nil {
					t.Fatalf("%s, reads of %d: after %d bytes: %v", tc.name, step, len(got), err)
				}
				if whole, _ := tlsRecordLen(tc.records[len(got):]); atStart && n > whole {
					t.Fatalf("%s, reads of %d: one Read gave %d bytes of a %d-byte record", tc.name, step, n, whole)
				}
				got = append(got, p[:n]...)
			}
			if !bytes.Equal(got, tc.records) {
				t.Fatalf("%s, reads of %d: the records read differ from those sent", tc.name, step)
			}
			left := c.leftover()
			c.release()
			rest := c.Conn.(*chunkConn).rest
			if !bytes.Equal(append(left, rest...), tc.after) {
				t.Fatalf("%s, reads of %d: leftover %q and unread %q, want %q", tc.name, step, left, rest, tc.after)
			}
		}
	}
}
