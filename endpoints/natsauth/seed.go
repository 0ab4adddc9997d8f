package natsauth

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
)

// MaxSeedFile bounds what ParseSeed reads: a seed is 58 characters; the
// rest allows for whitespace and a line ending, never a megabyte.
const MaxSeedFile = 4096

// KeyPair is a user's nkey: what a client signs the server's nonce with.
type KeyPair struct {
	priv   ed25519.PrivateKey
	public string // "U...", encoded once
}

// ParseSeed parses a user's nkey seed ("SU...", as nsc and nk write it),
// ignoring surrounding whitespace. It refuses, with an error wrapping one
// of the Err values, input over MaxSeedFile bytes, a wrong length, bad
// base32, a bad checksum, a string that is not a seed and a seed of
// another kind (named in the error). Errors never quote the input.
func ParseSeed(seed []byte) (*KeyPair, error) {
	if len(seed) > MaxSeedFile {
		return nil, fmt.Errorf("%w: %d bytes, a seed file has at most %d", ErrTooLarge, len(seed), MaxSeedFile)
	}
	s := bytes.TrimSpace(seed)
	if len(s) != SeedLen {
		hint := ""
		if len(s) == PublicKeyLen {
			hint = " (the length of a public key: is this the public half?)"
		}
		return nil, fmt.Errorf("%w: %d characters, an nkey seed has %d%s", ErrLength, len(s), SeedLen, hint)
	}
	var buf [SeedLen]byte // ≥ b32.DecodedLen(SeedLen)
	defer clear(buf[:])
	n, err := b32.Decode(buf[:], s)
	if err != nil {
		// base32.CorruptInputError is an offset: it does not quote the input.
		return nil, fmt.Errorf("%w: %v", ErrNotBase32, err)
	}
	if n != seedRawLen {
		return nil, fmt.Errorf("%w: %d bytes decoded, an nkey seed has %d", ErrLength, n, seedRawLen)
	}
	raw := buf[:n]
	if !checksumOK(raw) {
		return nil, fmt.Errorf("%w: the seed's CRC-16 does not match (a character changed or lost?)", ErrChecksum)
	}
	if raw[0]&0xF8 != prefixSeed {
		what := "an unknown prefix"
		switch {
		case raw[0]&0xF8 == prefixPrivate:
			what = "a raw private key (P)"
		case Kind(raw[0] & 0xF8).valid():
			what = "a " + Kind(raw[0]&0xF8).String() + " key"
		}
		return nil, fmt.Errorf("%w: prefix is %s, a seed starts with S", ErrNotSeed, what)
	}
	k := Kind(raw[0]<<5 | raw[1]>>3)
	if k != KindUser {
		return nil, fmt.Errorf("%w: this is a seed of kind %v; a client authenticates with a user (SU) seed", ErrNotUserSeed, k)
	}
	priv := ed25519.NewKeyFromSeed(raw[2 : 2+ed25519.SeedSize])
	pub, err := EncodePublicKey(KindUser, priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err // unreachable: the key is 32 bytes
	}
	return &KeyPair{priv: priv, public: pub}, nil
}

// PublicKey returns the user's public nkey ("U..."), CONNECT's nkey field.
func (k *KeyPair) PublicKey() string { return k.public }

// Sign returns CONNECT's sig field: the ed25519 signature of the nonce as
// the server's INFO sent it, base64url without padding. It allocates.
func (k *KeyPair) Sign(nonce []byte) string {
	return base64.RawURLEncoding.EncodeToString(ed25519.Sign(k.priv, nonce))
}

// Wipe zeroes the private key; Sign must not be called after it.
func (k *KeyPair) Wipe() { clear(k.priv) }
