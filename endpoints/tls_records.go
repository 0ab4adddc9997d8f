package endpoints

import "encoding/binary"

// TLS records as the handshake's conn sees them: a 5-byte header (type,
// version, length) and its payload. crypto/tls is fed one record at a
// time, so it never holds bytes past the handshake's last record.

const (
	tlsRecordHeader        = 5
	tlsTypeAlert           = 21
	tlsTypeHandshake       = 22
	tlsTypeApplicationData = 23
	tlsHelloRandomEnd      = 4 + 2 + 32 // handshake header, version, random
	tlsMaxRecordLength     = 16384 + 2048
)

// tlsRecordLen is the whole length (header included) of the record hdr
// starts; false when hdr cannot start a TLS record (an SSLv2 hello, a
// type outside 20..24, a length no TLS record has): then crypto/tls is
// given the bytes as they come, to refuse them itself.
func tlsRecordLen(hdr []byte) (int, bool) {
	typ, n := hdr[0], int(binary.BigEndian.Uint16(hdr[3:5]))
	if typ < 20 || typ > 24 || hdr[1] != 3 || n > tlsMaxRecordLength {
		return 0, false
	}
	return tlsRecordHeader + n, true
}

// tlsHelloScanner finds the random of the first hello in a direction's
// records: the first 38 bytes of the handshake stream, which may span
// records (a peer may fragment its hello).
type tlsHelloScanner struct {
	hdr    [tlsRecordHeader]byte
	nhdr   int    // header bytes held
	left   int    // payload bytes left in the current record
	typ    byte   // the current record's type
	hs     []byte // the handshake stream's first bytes
	done   bool   // found, or cannot be: no more scanning
	random []byte // the hello's random (32 bytes), nil if none
	msg    byte   // the hello's handshake type (1 client, 2 server)
}

// feed scans b, the direction's next bytes in order.
func (s *tlsHelloScanner) feed(b []byte) {
	for len(b) > 0 && !s.done {
		if s.left == 0 {
			n := copy(s.hdr[s.nhdr:], b)
			s.nhdr += n
			b = b[n:]
			if s.nhdr < tlsRecordHeader {
				return
			}
			s.nhdr = 0
			whole, ok := tlsRecordLen(s.hdr[:])
			if !ok {
				s.done = true
				return
			}
			s.typ, s.left = s.hdr[0], whole-tlsRecordHeader
			continue
		}
		n := min(s.left, len(b))
		if s.typ == tlsTypeHandshake {
			s.hs = append(s.hs, b[:min(n, tlsHelloRandomEnd-len(s.hs))]...)
			if len(s.hs) == tlsHelloRandomEnd {
				s.done = true
				if s.hs[0] == 1 || s.hs[0] == 2 {
					s.msg, s.random = s.hs[0], s.hs[6:tlsHelloRandomEnd]
				}
			}
		}
		s.left -= n
		b = b[n:]
	}
}

// The read buffer holds a whole record of the largest length let through.
var _ [tlsReadStore - tlsRecordHeader - tlsMaxRecordLength]struct{}
