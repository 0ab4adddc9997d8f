package tlsrecord

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// suite is what the record layer needs of a cipher suite.
type suite struct {
	version uint16
	keyLen  int
	ivLen   int  // TLS 1.2 GCM: the 4-byte implicit salt (RFC 5288); else 12
	gcm12   bool // TLS 1.2 AES-GCM: an 8-byte explicit nonce leads each record
	cipher  Cipher
	hash    func() hash.Hash
	aead    func(key []byte) (cipher.AEAD, error)
}

func aesGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

var suites = map[uint16]*suite{
	tls.TLS_AES_128_GCM_SHA256:       {tls.VersionTLS13, 16, 12, false, AESGCM, sha256.New, aesGCM},
	tls.TLS_AES_256_GCM_SHA384:       {tls.VersionTLS13, 32, 12, false, AESGCM, sha512.New384, aesGCM},
	tls.TLS_CHACHA20_POLY1305_SHA256: {tls.VersionTLS13, 32, 12, false, ChaCha20Poly1305, sha256.New, chacha20poly1305.New},

	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       {tls.VersionTLS12, 16, 4, true, AESGCM, sha256.New, aesGCM},
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         {tls.VersionTLS12, 16, 4, true, AESGCM, sha256.New, aesGCM},
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       {tls.VersionTLS12, 32, 4, true, AESGCM, sha512.New384, aesGCM},
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         {tls.VersionTLS12, 32, 4, true, AESGCM, sha512.New384, aesGCM},
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: {tls.VersionTLS12, 32, 12, false, ChaCha20Poly1305, sha256.New, chacha20poly1305.New},
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   {tls.VersionTLS12, 32, 12, false, ChaCha20Poly1305, sha256.New, chacha20poly1305.New},
}

// Suites12 are the TLS 1.2 cipher suites this package seals and opens:
// the handshake side offers and accepts exactly these
// (tls.Config.CipherSuites), so that what it agrees can go on the loop.
// TLS 1.3's three suites are all supported.
var Suites12 = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}
