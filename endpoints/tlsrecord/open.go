package tlsrecord

// Open takes all of in, wire bytes in order, and appends the plaintext of
// the application-data records they complete to out, which must not
// overlap in. A record cut short at in's end is kept (at most one
// record's bytes) until the rest arrives. The peer's session tickets and
// key updates are absorbed. Once the peer sent close_notify, Open returns
// the plaintext before it and ErrClosed; any other failure is an *Error,
// and every later call returns the same.
func (c *Conn) Open(in, out []byte) ([]byte, error) {
	if c.err != nil {
		return out, c.err
	}
	// First the record an earlier call kept the start of.
	for k := c.carry; k != nil && len(k.pend) > 0; {
		n, err := c.recordLen(k.pend)
		if err != nil {
			return out, c.fail(err)
		}
		if len(k.pend) == n {
			out, err = c.openRecord(k.pend, out)
			k.pend = k.pend[:0]
			if err != nil {
				return out, c.fail(err)
			}
			break
		}
		if len(in) == 0 {
			return out, nil
		}
		m := min(n-len(k.pend), len(in))
		k.pend = append(k.pend, in[:m]...)
		in = in[m:]
	}
	for len(in) > 0 {
		n, err := c.recordLen(in)
		if err != nil {
			return out, c.fail(err)
		}
		if len(in) < n {
			k := c.carried()
			if k.pend == nil {
				k.pend = make([]byte, 0, recordHeader+maxCipher)
			}
			k.pend = append(k.pend[:0], in...)
			return out, nil
		}
		if out, err = c.openRecord(in[:n], out); err != nil {
			return out, c.fail(err)
		}
		in = in[n:]
	}
	return out, nil
}

func (c *Conn) fail(err error) error {
	c.err = err
	c.carry = nil
	return err
}

// recordLen is the length of the record b starts with, header included,
// or recordHeader while b is shorter than a header. The header is checked
// as soon as it is whole, so an oversized record is refused before its
// bytes arrive.
func (c *Conn) recordLen(b []byte) (int, error) {
	if len(b) < recordHeader {
		return recordHeader, nil
	}
	typ, n := b[0], int(b[3])<<8|int(b[4])
	switch {
	case b[1] != 3 || b[2] != 3:
		return 0, errorf(BadRecord, "record version %d.%d, want 3.3", b[1], b[2])
	case n > maxCipher:
		return 0, errorf(BadRecord, "record_overflow: a record header announces %d bytes, at most %d", n, maxCipher)
	case c.tls13 && typ == typeChangeCipherSpec:
		return 0, errorf(BadRecord, "unexpected_message: change_cipher_spec after the handshake")
	case c.tls13 && typ != typeApplicationData:
		return 0, errorf(BadRecord, "unexpected_message: an unprotected record of type %d", typ)
	case typ < typeChangeCipherSpec || typ > typeApplicationData:
		return 0, errorf(BadRecord, "unexpected_message: a record of unknown type %d", typ)
	}
	return recordHeader + n, nil
}

// openRecord decrypts rec, one whole record, and acts on its content.
func (c *Conn) openRecord(rec, out []byte) ([]byte, error) {
	d := &c.read
	if d.seq == maxSeq {
		return out, errorf(SeqExhausted, "the read sequence number is exhausted")
	}
	typ, body, mark := rec[0], rec[recordHeader:], len(out)
	if c.tls13 {
		plain, err := d.cipher(c.suite).Open(out, c.xorNonce(d), body, rec[:recordHeader])
		if err != nil { // plain is nil then: out is as it was
			return out, errorf(BadRecord, "bad_record_mac: a record of %d bytes does not open", len(body))
		}
		out = plain
		// TLSInnerPlaintext: content, type, zero padding.
		i := len(out) - 1
		for i >= mark && out[i] == 0 {
			i--
		}
		if i < mark {
			return out[:mark], errorf(BadRecord, "unexpected_message: a record with no content type")
		}
		typ, out = out[i], out[:i]
	} else {
		var nonce []byte
		if c.suite.gcm12 {
			if len(body) < explicitLen+tagLen {
				return out, errorf(BadRecord, "bad_record_mac: a record of %d bytes", len(body))
			}
			nonce, body = c.saltNonce(d, body[:explicitLen]), body[explicitLen:]
		} else {
			if len(body) < tagLen {
				return out, errorf(BadRecord, "bad_record_mac: a record of %d bytes", len(body))
			}
			nonce = c.xorNonce(d)
		}
		plain, err := d.cipher(c.suite).Open(out, nonce, body, c.aad12(d.seq, typ, len(body)-tagLen))
		if err != nil {
			return out, errorf(BadRecord, "bad_record_mac: a record of %d bytes does not open", len(body))
		}
		out = plain
	}
	d.seq++
	content := out[mark:]
	if len(content) > maxPlain {
		return out[:mark], errorf(BadRecord, "record_overflow: %d bytes of plaintext in a record", len(content))
	}
	if c.splitHandshake() && typ != typeHandshake {
		return out[:mark], errorf(BadRecord, "unexpected_message: a record of type %d inside a handshake message", typ)
	}
	if typ == typeApplicationData {
		if len(content) == 0 {
			return out, c.absorbed()
		}
		c.noData = 0
		return out, nil
	}
	out = out[:mark] // content stays readable until out is appended to
	switch typ {
	case typeAlert:
		return out, c.alert(content)
	case typeHandshake:
		return out, c.handshake(content)
	}
	return out, errorf(BadRecord, "unexpected_message: a record of type %d after the handshake", typ)
}

// absorbed counts a record that carried no application data.
func (c *Conn) absorbed() error {
	c.noData++
	if c.noData > maxNoData {
		return errorf(Flood, "%d records in a row without application data", c.noData)
	}
	return nil
}

func (c *Conn) alert(b []byte) error {
	if len(b) != 2 {
		return errorf(BadRecord, "decode_error: an alert of %d bytes", len(b))
	}
	switch b[1] {
	case alertCloseNotify:
		return ErrClosed
	case alertUserCanceled:
		return c.absorbed()
	}
	level := "fatal"
	if b[0] == 1 {
		level = "warning"
	}
	e := errorf(Alert, "the peer sent the %s alert %s", level, alertName(b[1]))
	e.AlertCode = b[1]
	return e
}
