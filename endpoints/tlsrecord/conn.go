package tlsrecord

import (
	"crypto/cipher"
	"crypto/tls"
	"errors"
	"fmt"
)

// Record layer limits (RFC 8446 §5.1, §5.2; RFC 5246 §6.2).
const (
	recordHeader = 5
	maxPlain     = 1 << 14        // plaintext bytes in one record
	maxCipher    = maxPlain + 256 // ciphertext bytes a header may announce
	maxHandshake = 1 << 16        // a post-handshake message's body, as crypto/tls bounds it
	maxNoData    = 32             // records in a row that carry no application data
	maxSeq       = ^uint64(0)     // a sequence number never used: the next would wrap
	tagLen       = 16             // AES-GCM's and ChaCha20-Poly1305's
	explicitLen  = 8              // TLS 1.2 AES-GCM's explicit nonce
	keyUpdateLen = 4 + 1          // a KeyUpdate handshake message
	hsBufCap     = maxHandshake + 4 + maxPlain
)

// Record content types.
const (
	typeChangeCipherSpec = 20
	typeAlert            = 21
	typeHandshake        = 22
	typeApplicationData  = 23
)

// ErrClosed is what Open returns once the peer sent close_notify: an
// orderly end of its input.
var ErrClosed = errors.New("tls record: the peer sent close_notify")

// Conn is one connection's record layer once its handshake is done: it
// opens what the peer sends and seals what this side sends. It is not safe
// for concurrent use; one loop owns it.
//
// Every idle secured connection holds one, so its fields are packed (320
// bytes, a size class): the suite is shared, the bytes lead.
type Conn struct {
	suite     *suite // shared: suites' entry
	tls13     bool
	isClient  bool
	keyUpdate bool // the peer asked for our KeyUpdate: sent before Seal's next records
	aad       [13]byte
	read      direction
	write     direction
	nonce     [12]byte // the record's nonce, made by xorNonce or saltNonce
	noData    int32    // records in a row that carried no application data

	carry *carried // nil: Open holds nothing between calls (most of the time)
	err   error    // Open's first failure (or ErrClosed), returned from then on
}

// carried is what Open keeps between calls, behind a pointer: every
// idle connection holds a Conn, and few hold any of this.
type carried struct {
	pend []byte // a record cut short at the end of Open's input
	hs   []byte // TLS 1.3: a handshake message split across records
}

// carried gives c's carried state, made if it has none.
func (c *Conn) carried() *carried {
	if c.carry == nil {
		c.carry = &carried{}
	}
	return c.carry
}

// direction is one way's keys and sequence number. Its AEAD is built
// from key when first needed and dropped by Rest: an AES-GCM AEAD holds
// about 1.3 KB of expanded key and tables, most of what an idle secured
// connection would otherwise cost.
type direction struct {
	aead   cipher.AEAD // nil: not built since the last Rest
	key    [32]byte    // key[:keyLen] builds aead
	keyLen uint8
	iv     [12]byte // TLS 1.2 AES-GCM: the 4-byte salt in iv[:4]
	seq    uint64   // the next record's
	secret []byte   // TLS 1.3: the traffic secret, for KeyUpdate
}

// New derives this side's read and write keys from s.
func New(s Secrets) (*Conn, error) {
	st, ok := suites[s.Suite]
	if !ok {
		return nil, fmt.Errorf("tlsrecord: cipher suite %s (0x%04x) is not supported (TLS 1.3: its three suites; TLS 1.2: the ECDHE AES-GCM and ChaCha20-Poly1305 suites of Suites12)", tls.CipherSuiteName(s.Suite), s.Suite)
	}
	if s.Version != st.version {
		return nil, fmt.Errorf("tlsrecord: cipher suite %s is not one of %s", tls.CipherSuiteName(s.Suite), tls.VersionName(s.Version))
	}
	c := &Conn{suite: st, tls13: st.version == tls.VersionTLS13, isClient: s.IsClient}
	var err error
	if c.tls13 {
		err = c.keys13(s)
	} else {
		err = c.keys12(s)
	}
	if err != nil {
		return nil, err
	}
	c.read.seq, c.write.seq = s.ReadSeq, s.WriteSeq
	return c, nil
}

func (c *Conn) keys13(s Secrets) error {
	n := c.suite.hash().Size()
	if len(s.ClientTrafficSecret) != n || len(s.ServerTrafficSecret) != n {
		return fmt.Errorf("tlsrecord: TLS 1.3 traffic secrets of %d and %d bytes, want %d", len(s.ClientTrafficSecret), len(s.ServerTrafficSecret), n)
	}
	r, w := s.ServerTrafficSecret, s.ClientTrafficSecret
	if !s.IsClient {
		r, w = w, r
	}
	if err := c.read.setSecret(c.suite, r); err != nil {
		return err
	}
	return c.write.setSecret(c.suite, w)
}

// setSecret makes secret d's traffic secret: its key and IV, sequence 0
// (RFC 8446 §7.3).
func (d *direction) setSecret(st *suite, secret []byte) error {
	key, err := expandLabel(st.hash, secret, "key", st.keyLen)
	if err != nil {
		return err
	}
	iv, err := expandLabel(st.hash, secret, "iv", 12)
	if err != nil {
		return err
	}
	if err = d.setKey(st, key); err != nil {
		return err
	}
	copy(d.iv[:], iv)
	d.secret = append([]byte(nil), secret...)
	d.seq = 0
	return nil
}

// update moves d to its next traffic secret (RFC 8446 §7.2).
func (d *direction) update(st *suite) error {
	next, err := expandLabel(st.hash, d.secret, "traffic upd", len(d.secret))
	if err != nil {
		return err
	}
	return d.setSecret(st, next)
}

func (c *Conn) keys12(s Secrets) error {
	if len(s.MasterSecret) != 48 || len(s.ClientRandom) != 32 || len(s.ServerRandom) != 32 {
		return fmt.Errorf("tlsrecord: TLS 1.2 master secret of %d bytes and randoms of %d and %d, want 48, 32 and 32", len(s.MasterSecret), len(s.ClientRandom), len(s.ServerRandom))
	}
	// RFC 5246 §6.3: no MAC keys for an AEAD; client key, server key,
	// client IV, server IV.
	st := c.suite
	seed := append(append([]byte(nil), s.ServerRandom...), s.ClientRandom...)
	kb := prf12(st.hash, s.MasterSecret, "key expansion", seed, 2*st.keyLen+2*st.ivLen)
	ck, sk := kb[:st.keyLen], kb[st.keyLen:2*st.keyLen]
	civ, siv := kb[2*st.keyLen:2*st.keyLen+st.ivLen], kb[2*st.keyLen+st.ivLen:]
	if !s.IsClient {
		ck, sk, civ, siv = sk, ck, siv, civ
	}
	if err := c.read.setKey(st, sk); err != nil {
		return err
	}
	if err := c.write.setKey(st, ck); err != nil {
		return err
	}
	copy(c.read.iv[:], siv)
	copy(c.write.iv[:], civ)
	return nil
}

// setKey makes key d's record key and builds its AEAD (so that a key the
// suite refuses fails here, not at the first record).
func (d *direction) setKey(st *suite, key []byte) error {
	if len(key) > len(d.key) {
		return fmt.Errorf("tlsrecord: a key of %d bytes", len(key))
	}
	a, err := st.aead(key)
	if err != nil {
		return err
	}
	d.keyLen = uint8(copy(d.key[:], key))
	d.aead = a
	return nil
}

// cipher returns d's AEAD, building it if Rest dropped it (or none was
// built yet): setKey proved the key good, so this cannot fail.
func (d *direction) cipher(st *suite) cipher.AEAD {
	if d.aead == nil {
		a, err := st.aead(d.key[:d.keyLen])
		if err != nil {
			panic("tlsrecord: a key setKey took is refused: " + err.Error())
		}
		d.aead = a
	}
	return d.aead
}

// Rest drops both directions' AEADs, keeping the keys they are built
// from, and the buffer of a record cut short at a read's end (16 KiB once
// any record was) or of a handshake message split across records, unless
// it holds part of one: an idle connection holds a few hundred bytes
// instead of kilobytes. The next Open or Seal builds what it needs again
// (an allocation and a key expansion each), so a caller rests only
// connections it has reason to think idle.
func (c *Conn) Rest() {
	c.read.aead, c.write.aead = nil, nil
	if k := c.carry; k != nil {
		if len(k.pend) == 0 {
			k.pend = nil
		}
		if len(k.hs) == 0 {
			k.hs = nil
		}
		if k.pend == nil && k.hs == nil {
			c.carry = nil
		}
	}
}

// Resting reports whether neither direction holds an AEAD.
func (c *Conn) Resting() bool { return c.read.aead == nil && c.write.aead == nil }

// xorNonce is d's IV XOR its sequence number (RFC 8446 §5.3; RFC 7905 for
// TLS 1.2 ChaCha20-Poly1305), in c's nonce: one record is opened or
// sealed at a time.
func (c *Conn) xorNonce(d *direction) []byte {
	c.nonce = d.iv
	for i := range 8 {
		c.nonce[4+i] ^= byte(d.seq >> (56 - 8*i))
	}
	return c.nonce[:]
}

// saltNonce is TLS 1.2 AES-GCM's nonce: the salt and the explicit part
// (RFC 5288 §3).
func (c *Conn) saltNonce(d *direction, explicit []byte) []byte {
	copy(c.nonce[:4], d.iv[:4])
	copy(c.nonce[4:], explicit)
	return c.nonce[:]
}

// aad12 is TLS 1.2's additional data: seq, type, version, plaintext length.
func (c *Conn) aad12(seq uint64, typ byte, n int) []byte {
	a := c.aad[:]
	for i := range 8 {
		a[i] = byte(seq >> (56 - 8*i))
	}
	a[8], a[9], a[10], a[11], a[12] = typ, 3, 3, byte(n>>8), byte(n)
	return a
}
