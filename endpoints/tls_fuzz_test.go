package endpoints

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// FuzzTLSHelloRecords: the hello scanner finds the same random however
// the bytes are cut, and never reads past a record it was given.
func FuzzTLSHelloRecords(f *testing.F) {
	f.Add(sslv3Hello(), uint8(1))
	f.Add(append([]byte{22, 3, 1, 0, 3, 1, 0, 0, 22, 3, 1, 0, 40, 0, 36, 3, 3}, make([]byte, 40)...), uint8(3))
	f.Add([]byte{0x80, 0x2e, 0x01, 0x00, 0x02}, uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, cut uint8) {
		var whole, pieces tlsHelloScanner
		whole.feed(b)
		step := int(cut%16) + 1
		for i := 0; i < len(b); i += step {
			pieces.feed(b[i:min(i+step, len(b))])
		}
		if whole.done != pieces.done || whole.msg != pieces.msg || !bytes.Equal(whole.random, pieces.random) {
			t.Fatalf("whole %v %d %x, in pieces of %d %v %d %x", whole.done, whole.msg, whole.random, step, pieces.done, pieces.msg, pieces.random)
		}
		if whole.random != nil && len(whole.random) != 32 {
			t.Fatalf("random of %d bytes", len(whole.random))
		}
		// The conn gives crypto/tls at most one record per Read. The
		// socket behind it has nothing more: b is all the peer sent (a
		// plaintext alert's header asks for its body, which may not come).
		c := &tlsRecordConn{Conn: endedConn{}, buf: append([]byte(nil), b...)}
		out := make([]byte, 1<<16)
		for len(c.buf) >= tlsRecordHeader || (c.left > 0 || c.passthrough) && len(c.buf) > 0 {
			hdr, atStart := c.buf, c.left == 0 && !c.passthrough
			before := len(c.buf)
			n, err := c.Read(out)
			if err != nil {
				t.Fatal(err)
			}
			if whole, ok := tlsRecordLen(hdr); ok && atStart && n > whole {
				t.Fatalf("read %d bytes of a %d-byte record", n, whole)
			}
			if n == 0 || before-len(c.buf) != n {
				t.Fatalf("read %d, consumed %d", n, before-len(c.buf))
			}
		}
	})
}

// endedConn is a connection whose peer has sent all it will: reads end.
type endedConn struct{ net.Conn }

func (endedConn) Read([]byte) (int, error) { return 0, io.EOF }
