package endpoints

import (
	"crypto/tls"
	"net"
)

// tlsRecordConn is the net.Conn crypto/tls handshakes over: a dup of the
// connection's fd in Go's netpoller (so deadlines work and a stalled peer
// parks a goroutine, not a thread), read record by record. Read returns
// at most the rest of the current record, so crypto/tls never buffers a
// byte past the handshake's last record; what this conn read from the
// socket beyond that is the Transport's Leftover. It also notes the
// randoms of the hellos that pass each way (the TLS 1.2 key schedule
// needs both; crypto/tls reports neither).
type tlsRecordConn struct {
	net.Conn
	buf         []byte // read from the socket, not yet given to crypto/tls
	left        int    // bytes of the current record not yet given
	passthrough bool   // not TLS records: bytes go as they come, for crypto/tls to refuse
	readHello   tlsHelloScanner
	writeHello  tlsHelloScanner
	// plainAlert is the description of a plaintext fatal alert the peer
	// sent (0: none). OpenSSL, refusing our certificate in a TLS 1.3
	// handshake, sends its alert before it switches its write keys;
	// crypto/tls, expecting a sealed record, reports only a bad record
	// MAC, and this is what the peer said.
	plainAlert tls.AlertError
}

// tlsReadChunk is how much one socket read asks for.
const tlsReadChunk = 16 << 10

func (c *tlsRecordConn) Read(p []byte) (int, error) {
	if c.left == 0 && !c.passthrough {
		if err := c.fill(tlsRecordHeader); err != nil {
			return 0, err
		}
		if whole, ok := tlsRecordLen(c.buf); ok {
			c.left = whole
			c.notePlainAlert(whole)
		} else {
			c.passthrough = true
		}
	}
	if err := c.fill(1); err != nil {
		return 0, err
	}
	n := min(len(p), len(c.buf))
	if !c.passthrough {
		n = min(n, c.left)
		c.left -= n
	}
	copy(p, c.buf[:n])
	c.readHello.feed(c.buf[:n])
	c.buf = c.buf[n:]
	return n, nil
}

// notePlainAlert notes the record at buf's start (whole bytes long) if
// it is a plaintext fatal alert: type 21 and two bytes, level 2 (a
// sealed alert is longer by its AEAD tag).
func (c *tlsRecordConn) notePlainAlert(whole int) {
	if c.buf[0] != tlsTypeAlert || whole != tlsRecordHeader+2 || c.fill(whole) != nil {
		return
	}
	if c.buf[tlsRecordHeader] == 2 {
		c.plainAlert = tls.AlertError(c.buf[tlsRecordHeader+1])
	}
}

// fill reads until buf holds at least n bytes.
func (c *tlsRecordConn) fill(n int) error {
	for len(c.buf) < n {
		if cap(c.buf)-len(c.buf) < tlsReadChunk {
			grown := make([]byte, len(c.buf), len(c.buf)+tlsReadChunk)
			copy(grown, c.buf)
			c.buf = grown
		}
		m, err := c.Conn.Read(c.buf[len(c.buf):cap(c.buf)])
		c.buf = c.buf[:len(c.buf)+m]
		if err != nil && len(c.buf) < n {
			return err
		}
	}
	return nil
}

func (c *tlsRecordConn) Write(p []byte) (int, error) {
	c.writeHello.feed(p)
	return c.Conn.Write(p)
}

// leftover is what was read past the last record crypto/tls took.
func (c *tlsRecordConn) leftover() []byte {
	if len(c.buf) == 0 {
		return nil
	}
	return append([]byte(nil), c.buf...)
}
