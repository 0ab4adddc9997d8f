package tlsrecord

// Handshake messages after the handshake (RFC 8446 §4.6): session tickets
// are ignored (this layer never resumes), key updates followed; anything
// else, and in TLS 1.2 any HelloRequest or ClientHello, would start a new
// handshake, which is refused.

const (
	msgHelloRequest     = 0
	msgClientHello      = 1
	msgNewSessionTicket = 4
	msgKeyUpdate        = 24
)

var keyUpdateNotRequested = [keyUpdateLen]byte{msgKeyUpdate, 0, 0, 1, 0}

func (c *Conn) handshake(b []byte) error {
	if err := c.absorbed(); err != nil {
		return err
	}
	if len(b) == 0 {
		return errorf(BadRecord, "unexpected_message: an empty handshake record")
	}
	if !c.tls13 {
		if b[0] == msgHelloRequest || b[0] == msgClientHello {
			return errorf(Renegotiation, "the peer asked to renegotiate (handshake message %d), refused", b[0])
		}
		return errorf(BadRecord, "unexpected_message: handshake message %d after the handshake", b[0])
	}
	msgs, buffered := b, c.splitHandshake()
	if buffered {
		c.carry.hs = append(c.carry.hs, b...)
		msgs = c.carry.hs
	}
	for len(msgs) >= 4 {
		n := int(msgs[1])<<16 | int(msgs[2])<<8 | int(msgs[3])
		if n > maxHandshake {
			return errorf(BadRecord, "unexpected_message: a handshake message of %d bytes", n)
		}
		if len(msgs) < 4+n {
			break
		}
		typ := msgs[0]
		if err := c.postHandshake(typ, msgs[4:4+n]); err != nil {
			return err
		}
		msgs = msgs[4+n:]
		if typ == msgKeyUpdate && len(msgs) > 0 {
			// The read key changed: nothing may follow (RFC 8446 §5.1).
			return errorf(BadRecord, "unexpected_message: a KeyUpdate not at the end of its record")
		}
	}
	switch {
	case len(msgs) == 0:
		if c.carry != nil {
			c.carry.hs = c.carry.hs[:0]
		}
	case buffered:
		c.carry.hs = c.carry.hs[:copy(c.carry.hs, msgs)]
	default:
		k := c.carried()
		if k.hs == nil {
			k.hs = make([]byte, 0, hsBufCap)
		}
		k.hs = append(k.hs[:0], msgs...)
	}
	return nil
}

func (c *Conn) postHandshake(typ byte, body []byte) error {
	switch typ {
	case msgNewSessionTicket:
		if !c.isClient {
			return errorf(BadRecord, "unexpected_message: a NewSessionTicket sent to the server")
		}
		return nil
	case msgKeyUpdate:
		if len(body) != 1 || body[0] > 1 {
			return errorf(BadRecord, "decode_error: a malformed KeyUpdate")
		}
		if err := c.read.update(c.suite); err != nil {
			return errorf(BadRecord, "internal_error: KeyUpdate: %v", err)
		}
		if body[0] == 1 {
			c.keyUpdate = true
		}
		return nil
	}
	return errorf(Renegotiation, "the peer asked to renegotiate (handshake message %d after the handshake), refused", typ)
}
