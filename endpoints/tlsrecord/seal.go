package tlsrecord

import (
	"errors"
	"slices"
)

// Seal appends plain to out, which must not overlap it, as
// application-data records of at most 2^14 plaintext bytes each; with
// room in out it allocates nothing. If the peer asked for a key update, our KeyUpdate
// goes first, under the old key, and the records after it under the new.
func (c *Conn) Seal(plain, out []byte) ([]byte, error) {
	var err error
	if c.keyUpdate {
		if out, err = c.sendKeyUpdate(out, false); err != nil {
			return out, err
		}
	}
	for len(plain) > 0 {
		n := min(len(plain), maxPlain)
		if out, err = c.sealRecord(out, typeApplicationData, plain[:n]); err != nil {
			return out, err
		}
		plain = plain[n:]
	}
	return out, nil
}

// CloseNotify appends a close_notify alert record to out (nothing once
// the write sequence is exhausted: the connection ends all the same).
func (c *Conn) CloseNotify(out []byte) []byte {
	out, _ = c.sealRecord(out, typeAlert, closeNotify[:])
	return out
}

var closeNotify = [2]byte{1, alertCloseNotify} // warning, close_notify

// KeyUpdate appends a TLS 1.3 KeyUpdate to out and moves the write key to
// the next traffic secret; requestPeer asks the peer to update its own
// (RFC 8446 §4.6.3). It is how a sender renews its key long before its
// sequence number could wrap.
func (c *Conn) KeyUpdate(requestPeer bool, out []byte) ([]byte, error) {
	if !c.tls13 {
		return out, errors.New("tlsrecord: KeyUpdate is TLS 1.3's")
	}
	return c.sendKeyUpdate(out, requestPeer)
}

func (c *Conn) sendKeyUpdate(out []byte, requestPeer bool) ([]byte, error) {
	msg := keyUpdateNotRequested
	if requestPeer {
		msg[4] = 1
	}
	out, err := c.sealRecord(out, typeHandshake, msg[:])
	if err != nil {
		return out, err
	}
	c.keyUpdate = false
	if err := c.write.update(c.suite); err != nil {
		return out, err
	}
	return out, nil
}

// sealRecord appends one record of content (at most 2^14 bytes) of type
// typ. The content is copied where its ciphertext goes and sealed in
// place, so out's spare capacity is all it needs.
func (c *Conn) sealRecord(out []byte, typ byte, content []byte) ([]byte, error) {
	d := &c.write
	if d.seq == maxSeq {
		return out, errorf(SeqExhausted, "the write sequence number is exhausted")
	}
	start := len(out)
	body := start + recordHeader // where the plaintext goes
	n := len(content)
	var wire int // the header's length field
	switch {
	case c.tls13:
		wire = n + 1 + tagLen
	case c.suite.gcm12:
		wire = explicitLen + n + tagLen
		body += explicitLen
	default:
		wire = n + tagLen
	}
	out = slices.Grow(out, recordHeader+wire)[:body]
	hdr := out[start : start+recordHeader]
	hdr[0], hdr[1], hdr[2], hdr[3], hdr[4] = typeApplicationData, 3, 3, byte(wire>>8), byte(wire)
	out = append(out, content...)
	var sealed []byte
	if c.tls13 {
		out = append(out, typ)
		sealed = d.cipher(c.suite).Seal(out[body:body], c.xorNonce(d), out[body:], hdr)
	} else {
		hdr[0] = typ
		var nonce []byte
		if c.suite.gcm12 {
			// The explicit nonce is the sequence number, as crypto/tls's.
			explicit := out[start+recordHeader : body]
			for i := range 8 {
				explicit[i] = byte(d.seq >> (56 - 8*i))
			}
			nonce = c.saltNonce(d, explicit)
		} else {
			nonce = c.xorNonce(d)
		}
		sealed = d.cipher(c.suite).Seal(out[body:body], nonce, out[body:], c.aad12(d.seq, typ, n))
	}
	d.seq++
	return out[:body+len(sealed)], nil
}
