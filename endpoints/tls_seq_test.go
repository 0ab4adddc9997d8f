package endpoints

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/binary"
	"hash"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/sys/unix"
)

// tls13AEAD is the RFC 8446 record protection of a traffic secret: the
// check that Secrets and their sequence numbers are right, against
// crypto/tls on the other side.
func tls13AEAD(t *testing.T, secret []byte, suite uint16) (cipher.AEAD, []byte) {
	t.Helper()
	var h func() hash.Hash
	keyLen := 16
	switch suite {
	case tls.TLS_AES_128_GCM_SHA256:
		h = sha256.New
	case tls.TLS_AES_256_GCM_SHA384:
		h, keyLen = sha512.New384, 32
	case tls.TLS_CHACHA20_POLY1305_SHA256:
		h, keyLen = sha256.New, 32
	default:
		t.Fatalf("suite %x", suite)
	}
	label := func(l string, n int) []byte {
		info := []byte{byte(n >> 8), byte(n), byte(6 + len(l))}
		info = append(append(info, "tls13 "...), l...)
		info = append(info, 0)
		out, err := hkdf.Expand(h, secret, string(info), n)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	key, iv := label("key", keyLen), label("iv", 12)
	var aead cipher.AEAD
	var err error
	if suite == tls.TLS_CHACHA20_POLY1305_SHA256 {
		aead, err = chacha20poly1305.New(key)
	} else {
		var b cipher.Block
		if b, err = aes.NewCipher(key); err == nil {
			aead, err = cipher.NewGCM(b)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return aead, iv
}

func tls13Nonce(iv []byte, seq uint64) []byte {
	n := append([]byte(nil), iv...)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	for i := range s {
		n[4+i] ^= s[i]
	}
	return n
}

// checkTLS13Record opens rec's first record at seq and wants plain.
func checkTLS13Record(t *testing.T, secret []byte, suite uint16, seq uint64, rec []byte, plain string) {
	t.Helper()
	aead, iv := tls13AEAD(t, secret, suite)
	n := int(binary.BigEndian.Uint16(rec[3:5]))
	if len(rec) < 5+n {
		t.Fatalf("record cut short: %d of %d bytes", len(rec), 5+n)
	}
	out, err := aead.Open(nil, tls13Nonce(iv, seq), rec[5:5+n], rec[:5])
	if err != nil {
		t.Fatalf("the first record does not open at seq %d: %v", seq, err)
	}
	if len(out) == 0 || out[len(out)-1] != 23 || string(out[:len(out)-1]) != plain {
		t.Fatalf("record holds %q", out)
	}
}

// sendTLS13Record seals plain at seq and writes it to fd.
func sendTLS13Record(t *testing.T, fd int, secret []byte, suite uint16, seq uint64, plain string) {
	t.Helper()
	aead, iv := tls13AEAD(t, secret, suite)
	inner := append([]byte(plain), 23)
	hdr := []byte{23, 3, 3, 0, 0}
	binary.BigEndian.PutUint16(hdr[3:], uint16(len(inner)+aead.Overhead()))
	rec := aead.Seal(append([]byte(nil), hdr...), tls13Nonce(iv, seq), inner, hdr)
	if _, err := unix.Write(fd, rec); err != nil {
		t.Fatal(err)
	}
}
