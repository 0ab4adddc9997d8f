package tlsrecord

import (
	"crypto/hkdf"
	"crypto/hmac"
	"hash"
)

// expandLabel is TLS 1.3's HKDF-Expand-Label(secret, label, "", n)
// (RFC 8446 §7.1): the info is HkdfLabel{uint16 n, "tls13 "+label, no
// context}.
func expandLabel(h func() hash.Hash, secret []byte, label string, n int) ([]byte, error) {
	full := "tls13 " + label
	info := make([]byte, 0, 4+len(full))
	info = append(info, byte(n>>8), byte(n), byte(len(full)))
	info = append(info, full...)
	info = append(info, 0) // empty context
	return hkdf.Expand(h, secret, string(info), n)
}

// prf12 is TLS 1.2's PRF (RFC 5246 §5): P_hash(secret, label + seed),
// n bytes of it.
func prf12(h func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	ls := append([]byte(label), seed...)
	mac := hmac.New(h, secret)
	mac.Write(ls)
	a := mac.Sum(nil) // A(1)
	out := make([]byte, 0, n+mac.Size())
	for len(out) < n {
		mac.Reset()
		mac.Write(a)
		mac.Write(ls)
		out = mac.Sum(out)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
	return out[:n]
}
