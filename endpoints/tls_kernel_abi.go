package endpoints

import (
	"crypto/tls"
	"encoding/binary"
	"fmt"

	"github.com/pxroute/pxroute/endpoints/tlsrecord"
)

// Kernel TLS's ABI, from include/uapi/linux/tls.h (x/sys/unix has only
// SOL_TLS and TCP_ULP). Kept apart from the logic, as uring_abi.go is.
const (
	solTLS = 282 // SOL_TLS: unix.SOL_TLS, pinned in a test

	tlsTX = 1 // TLS_TX: setsockopt(SOL_TLS) installs the transmit keys
	tlsRX = 2 // TLS_RX: the receive keys

	// cmsg types at SOL_TLS.
	tlsSetRecordType = 1 // sendmsg: the record type of what is sent
	tlsGetRecordType = 2 // recvmsg: the record type of what was read

	tlsVersion12 = 0x0303 // TLS_1_2_VERSION: (3 << 8) | 3
	tlsVersion13 = 0x0304 // TLS_1_3_VERSION: (3 << 8) | 4

	tlsCipherAESGCM128        = 51
	tlsCipherAESGCM256        = 52
	tlsCipherChaCha20Poly1305 = 54
)

// kernelCipher is one of the tls12_crypto_info_* structs: after struct
// tls_crypto_info {__u16 version; __u16 cipher_type;} come unsigned char
// arrays iv, key, salt, rec_seq in that order, so there is no padding and
// the struct is their sizes' sum.
type kernelCipher struct {
	id                  uint16
	ivLen, keyLen, salt int
}

const recSeqLen = 8 // every cipher's TLS_CIPHER_*_REC_SEQ_SIZE

var (
	kernelAESGCM128 = kernelCipher{tlsCipherAESGCM128, 8, 16, 4}         // 40 bytes
	kernelAESGCM256 = kernelCipher{tlsCipherAESGCM256, 8, 32, 4}         // 56 bytes
	kernelChaCha    = kernelCipher{tlsCipherChaCha20Poly1305, 12, 32, 0} // 56 bytes
)

func (k kernelCipher) size() int { return 4 + k.ivLen + k.keyLen + k.salt + recSeqLen }

// kernelCipherOf is the kernel's cipher for keys; false for one the
// kernel has no struct for.
func kernelCipherOf(k tlsrecord.Keys) (kernelCipher, bool) {
	switch {
	case k.Cipher == tlsrecord.AESGCM && len(k.Key) == 16:
		return kernelAESGCM128, true
	case k.Cipher == tlsrecord.AESGCM && len(k.Key) == 32:
		return kernelAESGCM256, true
	case k.Cipher == tlsrecord.ChaCha20Poly1305 && len(k.Key) == 32:
		return kernelChaCha, true
	}
	return kernelCipher{}, false
}

// kernelCryptoInfo packs keys as the tls12_crypto_info_* struct
// setsockopt(SOL_TLS, TLS_TX or TLS_RX) takes.
//
// How the static IV splits (the kernel builds each record's nonce from
// salt and iv, net/tls):
//   - TLS 1.3, AES-GCM: salt is the 12-byte IV's first 4 bytes, iv its
//     last 8; the kernel joins them and XORs the sequence number in.
//   - TLS 1.2, AES-GCM: salt is the 4-byte implicit IV (RFC 5288); iv is
//     the explicit nonce the kernel writes before each record it seals
//     and then increments. It is set to the sequence number, as
//     crypto/tls and tlsrecord choose theirs, so explicit nonces stay
//     unique across the handover. On receive the kernel reads each
//     record's own explicit nonce, and iv is not used.
//   - ChaCha20-Poly1305, both versions: no salt; iv is the whole 12-byte
//     IV (RFC 7905, RFC 8446 §5.3).
//
// rec_seq is the next record's sequence number, big-endian; version and
// cipher_type are in the host's byte order, as C's __u16.
func kernelCryptoInfo(k tlsrecord.Keys) ([]byte, error) {
	kc, ok := kernelCipherOf(k)
	if !ok {
		return nil, fmt.Errorf("kernel TLS has no %v with a %d-byte key", k.Cipher, len(k.Key))
	}
	var version uint16
	switch k.Version {
	case tls.VersionTLS12:
		version = tlsVersion12
	case tls.VersionTLS13:
		version = tlsVersion13
	default:
		return nil, fmt.Errorf("kernel TLS has no version %#04x", k.Version)
	}
	b := make([]byte, kc.size())
	binary.NativeEndian.PutUint16(b[0:], version)
	binary.NativeEndian.PutUint16(b[2:], kc.id)
	iv, key := b[4:4+kc.ivLen], b[4+kc.ivLen:4+kc.ivLen+kc.keyLen]
	salt := b[4+kc.ivLen+kc.keyLen : 4+kc.ivLen+kc.keyLen+kc.salt]
	seq := b[len(b)-recSeqLen:]
	copy(key, k.Key)
	switch {
	case kc.salt == 0: // ChaCha20-Poly1305
		if len(k.IV) != 12 {
			return nil, fmt.Errorf("a ChaCha20-Poly1305 IV of %d bytes", len(k.IV))
		}
		copy(iv, k.IV)
	case version == tlsVersion13:
		if len(k.IV) != 12 {
			return nil, fmt.Errorf("a TLS 1.3 AES-GCM IV of %d bytes", len(k.IV))
		}
		copy(salt, k.IV[:4])
		copy(iv, k.IV[4:])
	default: // TLS 1.2 AES-GCM
		if len(k.IV) != 4 {
			return nil, fmt.Errorf("a TLS 1.2 AES-GCM salt of %d bytes", len(k.IV))
		}
		copy(salt, k.IV)
		binary.BigEndian.PutUint64(iv, k.Seq)
	}
	binary.BigEndian.PutUint64(seq, k.Seq)
	return b, nil
}
