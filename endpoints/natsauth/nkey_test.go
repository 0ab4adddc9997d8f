package natsauth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// The user nkey of NATS's documentation (nkey authentication): an
// encoding that is not ours.
const (
	docSeed   = "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY"
	docPublic = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4"
)

func TestCRC16IsXMODEM(t *testing.T) {
	if got := crc16([]byte("123456789")); got != 0x31C3 { // the catalogue's check value
		t.Fatalf("crc16(123456789) = %#04x, want 0x31c3", got)
	}
}

func TestParseSeedOfTheDocumentation(t *testing.T) {
	kp, err := ParseSeed([]byte(docSeed))
	if err != nil {
		t.Fatal(err)
	}
	if kp.PublicKey() != docPublic {
		t.Fatalf("public key %s, want %s", kp.PublicKey(), docPublic)
	}
}

// TestSeedRoundTrip: a key generated here, encoded, parsed, signs a nonce
// that verifies under the public key decoded back from its nkey.
func TestSeedRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(string) []byte
	}{
		{"bare", func(s string) []byte { return []byte(s) }},
		{"newline", func(s string) []byte { return []byte(s + "\n") }},
		{"crlf-and-spaces", func(s string) []byte { return []byte("  \t" + s + " \r\n\n") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			seed, err := EncodeSeed(KindUser, priv.Seed())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(seed, "SU") || len(seed) != SeedLen {
				t.Fatalf("seed starts %q, %d characters", seed[:2], len(seed))
			}
			kp, err := ParseSeed(tc.wrap(seed))
			if err != nil {
				t.Fatal(err)
			}
			kind, back, err := DecodePublicKey(kp.PublicKey())
			if err != nil || kind != KindUser || !bytes.Equal(back, pub) {
				t.Fatalf("public key %s decoded to %v %x, %v; want user %x", kp.PublicKey(), kind, back, err, pub)
			}
			nonce := []byte("vj3Kf8sQ0mZ-aD_xhRVI2A")
			sig, err := base64.RawURLEncoding.DecodeString(kp.Sign(nonce))
			if err != nil {
				t.Fatal(err)
			}
			if !ed25519.Verify(back, nonce, sig) {
				t.Fatal("signature does not verify under the decoded public key")
			}
			if ed25519.Verify(back, append(nonce, '!'), sig) {
				t.Fatal("signature verifies another nonce")
			}
			kp.Wipe()
			if !bytes.Equal(kp.priv, make([]byte, len(kp.priv))) {
				t.Fatal("Wipe left key bytes")
			}
		})
	}
}

func TestParseSeedRefuses(t *testing.T) {
	seedOf := func(k Kind) string {
		s, err := EncodeSeed(k, bytes.Repeat([]byte{7}, 32))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// flip changes one character of s at i to another base32 character.
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	// curve is an "SX" seed: ed25519 layout, curve kind.
	raw := appendChecksum(append([]byte{prefixSeed | byte(kindCurve)>>5, byte(kindCurve&31) << 3}, make([]byte, 32)...))
	curve := b32.EncodeToString(raw)
	// private is a "P" key of a seed's length: not a seed.
	raw = appendChecksum(append([]byte{prefixPrivate, 0}, make([]byte, 32)...))
	private := b32.EncodeToString(raw)

	for _, tc := range []struct {
		name, in string
		want     error
		says     string
	}{
		{"empty", "", ErrLength, "0 characters"},
		{"public-key-instead-of-seed", docPublic, ErrLength, "public key"},
		{"one-character-short", docSeed[:SeedLen-1], ErrLength, "57 characters"},
		{"lower-case", strings.ToLower(docSeed), ErrNotBase32, ""},
		{"not-base32", docSeed[:10] + "1" + docSeed[11:], ErrNotBase32, ""},
		{"checksum-corrupted", flip(docSeed, SeedLen-2), ErrChecksum, ""},
		{"key-byte-corrupted", flip(docSeed, 20), ErrChecksum, ""},
		{"account-seed", seedOf(KindAccount), ErrNotUserSeed, "account (A)"},
		{"operator-seed", seedOf(KindOperator), ErrNotUserSeed, "operator (O)"},
		{"server-seed", seedOf(KindServer), ErrNotUserSeed, "server (N)"},
		{"curve-seed", curve, ErrNotUserSeed, "curve (X)"},
		{"private-key-not-seed", private, ErrNotSeed, "private key"},
		{"megabytes", docSeed + strings.Repeat(" ", 1<<20), ErrTooLarge, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kp, err := ParseSeed([]byte(tc.in))
			if !errors.Is(err, tc.want) || kp != nil {
				t.Fatalf("ParseSeed = %v, %v; want %v", kp, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error %q does not say %q", err, tc.says)
			}
			if len(tc.in) >= 12 && strings.Contains(err.Error(), strings.TrimSpace(tc.in)[2:12]) {
				t.Fatalf("error %q quotes the secret", err)
			}
		})
	}
}

func TestDecodePublicKeyRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     error
	}{
		{"seed-is-not-public", docSeed, ErrLength},
		{"checksum-corrupted", docPublic[:55] + "A", ErrChecksum},
		{"not-base32", "0" + docPublic[1:], ErrNotBase32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := DecodePublicKey(tc.in); !errors.Is(err, tc.want) || !errors.Is(err, ErrNotPublic) {
				t.Fatalf("DecodePublicKey = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestEncodeRefusesBadInput(t *testing.T) {
	if _, err := EncodeSeed(KindUser, make([]byte, 31)); !errors.Is(err, ErrLength) {
		t.Fatalf("31-byte seed: %v", err)
	}
	if _, err := EncodeSeed(kindCurve, make([]byte, 32)); err == nil {
		t.Fatal("curve seed encoded")
	}
	if _, err := EncodePublicKey(Kind(prefixSeed), make([]byte, 32)); err == nil {
		t.Fatal("public key of the seed prefix encoded")
	}
	if _, err := EncodePublicKey(KindUser, make([]byte, 33)); !errors.Is(err, ErrLength) {
		t.Fatalf("33-byte public key: %v", err)
	}
}
