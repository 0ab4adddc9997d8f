package tlsrecord

import "fmt"

// Handing records over: a record layer outside this package (the
// kernel's TLS, TCP_ULP "tls") can seal and open a connection's records
// from some point on. It needs each direction's key, static IV and next
// sequence number as they are at that point, after whatever records this
// Conn already sealed or opened (leftover records read past the
// handshake, say); Keys are those. The other layer then hands back only
// the records it does not deliver as data, opened: Absorb acts on them as
// Open would (tickets ignored, key updates followed, alerts and
// close_notify reported), and AnswerKeyUpdate gives the KeyUpdate the
// peer asked for.

// Cipher is a suite's AEAD.
type Cipher uint8

const (
	AESGCM           Cipher = iota + 1 // AES-128-GCM or AES-256-GCM by key length
	ChaCha20Poly1305                   // RFC 7905 (TLS 1.2), RFC 8446 (TLS 1.3)
)

func (c Cipher) String() string {
	switch c {
	case AESGCM:
		return "AES-GCM"
	case ChaCha20Poly1305:
		return "ChaCha20-Poly1305"
	}
	return fmt.Sprintf("cipher(%d)", uint8(c))
}

// Keys are one direction's state at a handover: copies, so the caller
// may keep or wipe them without touching the Conn.
type Keys struct {
	Version uint16 // tls.VersionTLS12 or tls.VersionTLS13
	Cipher  Cipher
	Key     []byte // 16 or 32 bytes
	// IV is the static IV: 12 bytes (XORed with the sequence number), or
	// for TLS 1.2 AES-GCM the 4-byte implicit salt (RFC 5288) that each
	// record's 8-byte explicit nonce follows.
	IV  []byte
	Seq uint64 // the next record's sequence number
}

// ReadKeys are the keys the peer's next record is opened with.
func (c *Conn) ReadKeys() Keys { return c.keys(&c.read) }

// WriteKeys are the keys this side's next record is sealed with.
func (c *Conn) WriteKeys() Keys { return c.keys(&c.write) }

func (c *Conn) keys(d *direction) Keys {
	return Keys{
		Version: c.suite.version,
		Cipher:  c.suite.cipher,
		Key:     append([]byte(nil), d.key[:d.keyLen]...),
		IV:      append([]byte(nil), d.iv[:c.suite.ivLen]...),
		Seq:     d.seq,
	}
}

// Absorb acts on a record another layer opened that did not carry
// application data: typ is its content type, content its plaintext. It
// returns ErrClosed for close_notify and an *Error for what Open would
// refuse (an alert, a renegotiation, a flood, a malformed message); nil
// for what Open takes silently (a session ticket, user_canceled, a key
// update: ReadKeys are the next traffic secret's from then on, sequence
// 0). Once it failed it returns the same failure.
func (c *Conn) Absorb(typ byte, content []byte) error {
	if c.err != nil {
		return c.err
	}
	if len(content) > maxPlain {
		return c.fail(errorf(BadRecord, "record_overflow: %d bytes of plaintext in a record", len(content)))
	}
	if c.splitHandshake() && typ != typeHandshake {
		return c.fail(errorf(BadRecord, "unexpected_message: a record of type %d inside a handshake message", typ))
	}
	var err error
	switch typ {
	case typeApplicationData:
		if len(content) == 0 {
			err = c.absorbed()
		} else {
			c.noData = 0
		}
	case typeAlert:
		err = c.alert(content)
	case typeHandshake:
		err = c.handshake(content)
	default:
		err = errorf(BadRecord, "unexpected_message: a record of type %d after the handshake", typ)
	}
	if err != nil {
		return c.fail(err)
	}
	return nil
}

// AnswerKeyUpdate returns, when the peer asked for our key update (TLS
// 1.3's update_requested), the KeyUpdate message to send as a handshake
// record under the current WriteKeys, and moves the write keys on: the
// records after it go under WriteKeys as they are on return. ok is false
// when nothing is owed.
func (c *Conn) AnswerKeyUpdate() (msg []byte, ok bool, err error) {
	if !c.keyUpdate {
		return nil, false, nil
	}
	c.keyUpdate = false
	if err := c.write.update(c.suite); err != nil {
		return nil, false, err
	}
	m := keyUpdateNotRequested
	return m[:], true, nil
}

// Holding reports whether Open holds the start of a record cut short, or
// of a handshake message split across records: bytes another layer
// could not take over, since the rest of them is still to be read.
func (c *Conn) Holding() bool {
	return c.carry != nil && (len(c.carry.pend) > 0 || len(c.carry.hs) > 0)
}

// splitHandshake reports whether Open holds the start of a handshake
// message split across records.
func (c *Conn) splitHandshake() bool { return c.carry != nil && len(c.carry.hs) > 0 }

// KeyUpdateOwed reports whether the peer asked for our key update and
// this side has not sent it yet (Seal or AnswerKeyUpdate sends it).
func (c *Conn) KeyUpdateOwed() bool { return c.keyUpdate }
