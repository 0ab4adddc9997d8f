package endpoints

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/endpoints/tlsrecord"
)

// The ABI's numbers, pinned against include/uapi/linux/tls.h (and
// x/sys/unix where it has them).
func TestKernelTLSConstants(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want int
	}{
		{"SOL_TLS", solTLS, unix.SOL_TLS},
		{"TCP_ULP", unix.TCP_ULP, 31},
		{"TLS_TX", tlsTX, 1},
		{"TLS_RX", tlsRX, 2},
		{"TLS_SET_RECORD_TYPE", tlsSetRecordType, 1},
		{"TLS_GET_RECORD_TYPE", tlsGetRecordType, 2},
		{"TLS_1_2_VERSION", tlsVersion12, 0x0303},
		{"TLS_1_3_VERSION", tlsVersion13, 0x0304},
		{"TLS_CIPHER_AES_GCM_128", tlsCipherAESGCM128, 51},
		{"TLS_CIPHER_AES_GCM_256", tlsCipherAESGCM256, 52},
		{"TLS_CIPHER_CHACHA20_POLY1305", tlsCipherChaCha20Poly1305, 54},
		{"sizeof(tls12_crypto_info_aes_gcm_128)", kernelAESGCM128.size(), 40},
		{"sizeof(tls12_crypto_info_aes_gcm_256)", kernelAESGCM256.size(), 56},
		{"sizeof(tls12_crypto_info_chacha20_poly1305)", kernelChaCha.size(), 56},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

func unhexSpaced(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kernelHeader is struct tls_crypto_info: two __u16 in the host's order.
func kernelHeader(version, cipher uint16) []byte {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint16(b, version)
	binary.NativeEndian.PutUint16(b[2:], cipher)
	return b
}

// TestKernelCryptoInfoGolden packs each suite and version's keys and
// compares with the struct written out by hand: iv, key, salt, rec_seq.
func TestKernelCryptoInfoGolden(t *testing.T) {
	key16 := unhexSpaced(t, "000102030405060708090a0b0c0d0e0f")
	key32 := unhexSpaced(t, "000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f")
	iv12 := unhexSpaced(t, "a0a1a2a3 a4a5a6a7a8a9aaab")
	salt4 := unhexSpaced(t, "b0b1b2b3")
	const seq = 0x0102030405060708
	for _, tc := range []struct {
		name   string
		keys   tlsrecord.Keys
		header []byte
		body   string // iv key salt rec_seq
	}{
		{"tls13-aes-128-gcm: salt is the iv's first 4 bytes, iv its last 8",
			tlsrecord.Keys{Version: tls.VersionTLS13, Cipher: tlsrecord.AESGCM, Key: key16, IV: iv12, Seq: seq},
			kernelHeader(0x0304, 51),
			"a4a5a6a7a8a9aaab 000102030405060708090a0b0c0d0e0f a0a1a2a3 0102030405060708"},
		{"tls13-aes-256-gcm",
			tlsrecord.Keys{Version: tls.VersionTLS13, Cipher: tlsrecord.AESGCM, Key: key32, IV: iv12, Seq: seq},
			kernelHeader(0x0304, 52),
			"a4a5a6a7a8a9aaab 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f a0a1a2a3 0102030405060708"},
		{"tls13-chacha20-poly1305: the whole iv, no salt",
			tlsrecord.Keys{Version: tls.VersionTLS13, Cipher: tlsrecord.ChaCha20Poly1305, Key: key32, IV: iv12, Seq: seq},
			kernelHeader(0x0304, 54),
			"a0a1a2a3a4a5a6a7a8a9aaab 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 0102030405060708"},
		{"tls12-aes-128-gcm: salt is the implicit iv, iv the next explicit nonce",
			tlsrecord.Keys{Version: tls.VersionTLS12, Cipher: tlsrecord.AESGCM, Key: key16, IV: salt4, Seq: seq},
			kernelHeader(0x0303, 51),
			"0102030405060708 000102030405060708090a0b0c0d0e0f b0b1b2b3 0102030405060708"},
		{"tls12-aes-256-gcm",
			tlsrecord.Keys{Version: tls.VersionTLS12, Cipher: tlsrecord.AESGCM, Key: key32, IV: salt4, Seq: 1},
			kernelHeader(0x0303, 52),
			"0000000000000001 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f b0b1b2b3 0000000000000001"},
		{"tls12-chacha20-poly1305",
			tlsrecord.Keys{Version: tls.VersionTLS12, Cipher: tlsrecord.ChaCha20Poly1305, Key: key32, IV: iv12, Seq: 1},
			kernelHeader(0x0303, 54),
			"a0a1a2a3a4a5a6a7a8a9aaab 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 0000000000000001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := kernelCryptoInfo(tc.keys)
			want := append(tc.header, unhexSpaced(t, tc.body)...)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("packed\n%x (%v), want\n%x", got, err, want)
			}
		})
	}
}

// TestKernelCryptoInfoRFC8448 packs the keys tlsrecord derives from RFC
// 8448's client traffic secret (§3): key 17422dda..., IV 5b78923d
// ee08579033e523d9, after the client's first record.
func TestKernelCryptoInfoRFC8448(t *testing.T) {
	c, err := tlsrecord.New(tlsrecord.Secrets{
		Version: tls.VersionTLS13, Suite: tls.TLS_AES_128_GCM_SHA256, IsClient: true,
		ClientTrafficSecret: unhexSpaced(t, "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5"),
		ServerTrafficSecret: unhexSpaced(t, "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643"),
		WriteSeq:            1,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := kernelCryptoInfo(c.WriteKeys())
	want := append(kernelHeader(0x0304, 51), unhexSpaced(t, "ee08579033e523d9 17422dda596ed5d9acd890e3c63f5051 5b78923d 0000000000000001")...)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("packed\n%x (%v), want\n%x", got, err, want)
	}
}

// TestKernelCryptoInfoRefuses: keys the kernel has no struct for, or of
// the wrong shape, are refused, not packed wrong.
func TestKernelCryptoInfoRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys tlsrecord.Keys
	}{
		{"tls11", tlsrecord.Keys{Version: tls.VersionTLS11, Cipher: tlsrecord.AESGCM, Key: make([]byte, 16), IV: make([]byte, 4)}},
		{"aes-192", tlsrecord.Keys{Version: tls.VersionTLS13, Cipher: tlsrecord.AESGCM, Key: make([]byte, 24), IV: make([]byte, 12)}},
		{"chacha-short-key", tlsrecord.Keys{Version: tls.VersionTLS13, Cipher: tlsrecord.ChaCha20Poly1305, Key: make([]byte, 16), IV: make([]byte, 12)}},
		{"tls13-gcm-4-byte-iv", tlsrecord.Keys{Version: tls.VersionTLS13, Cipher: tlsrecord.AESGCM, Key: make([]byte, 16), IV: make([]byte, 4)}},
		{"tls12-gcm-12-byte-iv", tlsrecord.Keys{Version: tls.VersionTLS12, Cipher: tlsrecord.AESGCM, Key: make([]byte, 16), IV: make([]byte, 12)}},
		{"unknown-cipher", tlsrecord.Keys{Version: tls.VersionTLS13, Key: make([]byte, 16), IV: make([]byte, 12)}},
	} {
		if b, err := kernelCryptoInfo(tc.keys); err == nil {
			t.Errorf("%s: packed %x, want a refusal", tc.name, b)
		}
	}
}
