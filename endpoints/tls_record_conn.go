package endpoints

import (
	"crypto/tls"
	"net"
	"sync"
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
	store       *[]byte // what buf reads into: from tlsReadStores, given back by release
	buf         []byte  // read from the socket, not yet given to crypto/tls (in store)
	left        int     // bytes of the current record not yet given
	passthrough bool    // not TLS records: bytes go as they come, for crypto/tls to refuse
	readHello   tlsHelloScanner
	writeHello  tlsHelloScanner
	// plainAlert is the description of a plaintext fatal alert the peer
	// sent (0: none). OpenSSL, refusing our certificate in a TLS 1.3
	// handshake, sends its alert before it switches its write keys;
	// crypto/tls, expecting a sealed record, reports only a bad record
	// MAC, and this is what the peer said.
	plainAlert tls.AlertError
}

// tlsReadChunk is the least room a socket read asks for when the
// buffer's start has room to give.
const tlsReadChunk = 4 << 10

// tlsReadStore is the size of a handshake's read buffer: the largest
// record the conn lets through whole, and room to read ahead (20 KiB, a
// size class).
const tlsReadStore = 20 << 10

// tlsReadStores are handshakes' read buffers: one taken for each
// handshake and given back at its end, where a fresh 16 KiB chunk for
// each read-ahead was a third of what a server's handshake allocated
// (more work for the GC).
var tlsReadStores = sync.Pool{New: func() any {
	b := make([]byte, tlsReadStore)
	return &b
}}

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

// fill reads until buf holds at least n bytes (n is at most a record).
func (c *tlsRecordConn) fill(n int) error {
	for len(c.buf) < n {
		c.makeRoom(n)
		m, err := c.Conn.Read(c.buf[len(c.buf):cap(c.buf)])
		c.buf = c.buf[:len(c.buf)+m]
		if err != nil && len(c.buf) < n {
			return err
		}
	}
	return nil
}

// makeRoom moves buf to its store's start when the space after it would
// not take n bytes or a chunk's read: the store is reused, never grown.
func (c *tlsRecordConn) makeRoom(n int) {
	if c.store == nil {
		c.store = tlsReadStores.Get().(*[]byte)
		c.buf = (*c.store)[:copy(*c.store, c.buf)]
		return
	}
	if free := cap(c.buf) - len(c.buf); free >= tlsReadChunk && cap(c.buf) >= n {
		return
	}
	c.buf = (*c.store)[:copy(*c.store, c.buf)]
}

// release gives the store back; c reads no more.
func (c *tlsRecordConn) release() {
	if c.store != nil {
		tlsReadStores.Put(c.store)
		c.store, c.buf = nil, nil
	}
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
