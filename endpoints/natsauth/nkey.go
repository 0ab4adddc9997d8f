package natsauth

import (
	"crypto/ed25519"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
)

// Kind is an nkey's role, the prefix byte of its public key. Its value is
// the wire byte: the top five bits are the key's first base32 character.
type Kind byte

// The kinds of ed25519 nkeys (curve keys, "X", are not ed25519 and are
// refused as such).
const (
	KindAccount  Kind = 0 << 3  // "A"
	KindCluster  Kind = 2 << 3  // "C"
	KindServer   Kind = 13 << 3 // "N"
	KindOperator Kind = 14 << 3 // "O"
	KindUser     Kind = 20 << 3 // "U"
	kindCurve    Kind = 23 << 3 // "X"

	prefixSeed    = 18 << 3 // "S", a seed's first prefix byte
	prefixPrivate = 15 << 3 // "P", a raw private key (never accepted)
)

// String names the kind as errors print it.
func (k Kind) String() string {
	switch k {
	case KindAccount:
		return "account (A)"
	case KindCluster:
		return "cluster (C)"
	case KindServer:
		return "server (N)"
	case KindOperator:
		return "operator (O)"
	case KindUser:
		return "user (U)"
	case kindCurve:
		return "curve (X)"
	}
	return fmt.Sprintf("unknown kind %#02x", byte(k))
}

func (k Kind) valid() bool {
	switch k {
	case KindAccount, KindCluster, KindServer, KindOperator, KindUser:
		return true
	}
	return false
}

// Errors, wrapped with details by the functions that return them.
var (
	ErrTooLarge    = errors.New("natsauth: input too large")
	ErrLength      = errors.New("natsauth: wrong length")
	ErrNotBase32   = errors.New("natsauth: not base32")
	ErrChecksum    = errors.New("natsauth: bad checksum")
	ErrNotSeed     = errors.New("natsauth: not an nkey seed")
	ErrNotUserSeed = errors.New("natsauth: not a user seed")
	ErrNotPublic   = errors.New("natsauth: not a public nkey")
	ErrNoJWT       = errors.New("natsauth: no user JWT in creds")
	ErrBadJWT      = errors.New("natsauth: malformed JWT in creds")
	ErrNoSeed      = errors.New("natsauth: no nkey seed in creds")
	ErrMismatch    = errors.New("natsauth: creds JWT and seed do not match")
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Raw sizes: a public key is its kind, the key and the checksum; a seed
// has two prefix bytes.
const (
	publicRawLen = 1 + ed25519.PublicKeySize + 2
	seedRawLen   = 2 + ed25519.SeedSize + 2
	// PublicKeyLen and SeedLen are the encoded lengths in characters.
	PublicKeyLen = (publicRawLen*8 + 4) / 5 // 56
	SeedLen      = (seedRawLen*8 + 4) / 5   // 58
)

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0), nkeys'
// checksum.
func crc16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// appendChecksum appends b's checksum, little endian.
func appendChecksum(b []byte) []byte {
	return binary.LittleEndian.AppendUint16(b, crc16(b))
}

// checksumOK reports whether raw ends with the checksum of the rest.
func checksumOK(raw []byte) bool {
	n := len(raw) - 2
	return n >= 0 && binary.LittleEndian.Uint16(raw[n:]) == crc16(raw[:n])
}

// EncodePublicKey encodes an ed25519 public key as an nkey of kind k.
func EncodePublicKey(k Kind, pub ed25519.PublicKey) (string, error) {
	if !k.valid() {
		return "", fmt.Errorf("natsauth: cannot encode a public key of kind %v", k)
	}
	if len(pub) != ed25519.PublicKeySize {
		return "", fmt.Errorf("%w: public key of %d bytes, want %d", ErrLength, len(pub), ed25519.PublicKeySize)
	}
	raw := make([]byte, 0, publicRawLen)
	raw = append(append(raw, byte(k)), pub...)
	return b32.EncodeToString(appendChecksum(raw)), nil
}

// DecodePublicKey decodes a public nkey ("U...", "A...", ...) to its kind
// and ed25519 key, checking its checksum.
func DecodePublicKey(s string) (Kind, ed25519.PublicKey, error) {
	if len(s) != PublicKeyLen {
		return 0, nil, fmt.Errorf("%w: %w: %d characters, want %d", ErrNotPublic, ErrLength, len(s), PublicKeyLen)
	}
	raw := make([]byte, b32.DecodedLen(len(s)))
	n, err := b32.Decode(raw, []byte(s))
	if err != nil || n != publicRawLen {
		return 0, nil, fmt.Errorf("%w: %w", ErrNotPublic, ErrNotBase32)
	}
	if !checksumOK(raw) {
		return 0, nil, fmt.Errorf("%w: %w", ErrNotPublic, ErrChecksum)
	}
	k := Kind(raw[0])
	if !k.valid() {
		return 0, nil, fmt.Errorf("%w: prefix byte %#02x is no public key kind", ErrNotPublic, raw[0])
	}
	return k, ed25519.PublicKey(raw[1 : 1+ed25519.PublicKeySize]), nil
}

// EncodeSeed encodes a 32-byte ed25519 seed (ed25519.PrivateKey.Seed) as
// an nkey seed of kind k ("SU..." for a user). The string holds the secret.
func EncodeSeed(k Kind, seed []byte) (string, error) {
	if !k.valid() {
		return "", fmt.Errorf("natsauth: cannot encode a seed of kind %v", k)
	}
	if len(seed) != ed25519.SeedSize {
		return "", fmt.Errorf("%w: seed of %d bytes, want %d", ErrLength, len(seed), ed25519.SeedSize)
	}
	var buf [seedRawLen]byte
	raw := append(buf[:0], prefixSeed|byte(k)>>5, byte(k)<<3)
	raw = appendChecksum(append(raw, seed...))
	s := b32.EncodeToString(raw)
	clear(buf[:])
	return s, nil
}
