package natsauth

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"testing"
)

// FuzzNATSAuth feeds arbitrary bytes to ParseSeed and ParseCreds: neither
// may panic; what they accept is a user key whose signatures verify under
// its public nkey, and a JWT found in the input. The first 32 bytes, as an
// ed25519 seed, also make a round trip: EncodeSeed, ParseSeed, sign,
// verify under the public key decoded back.
func FuzzNATSAuth(f *testing.F) {
	f.Add([]byte(docSeed))
	f.Add([]byte(docSeed + "\r\n"))
	f.Add([]byte(docPublic))
	f.Add([]byte("-----BEGIN NATS USER JWT-----\n" + testJWT + "\n------END NATS USER JWT------\n\n" +
		"-----BEGIN USER NKEY SEED-----\n" + docSeed + "\n------END USER NKEY SEED------\n"))
	f.Add([]byte("---\n" + testJWT + "\n---\n" + docSeed))
	f.Add([]byte(testJWT + "\n" + docSeed))
	f.Fuzz(func(t *testing.T, b []byte) {
		nonce := []byte("fuzz-nonce")
		if kp, err := ParseSeed(b); err == nil {
			checkKeyPair(t, kp, nonce)
		}
		if jwt, kp, err := ParseCreds(b); err == nil {
			if !bytes.Contains(b, []byte(jwt)) {
				t.Fatalf("jwt %q is not in the input", jwt)
			}
			checkKeyPair(t, kp, nonce)
		}

		if len(b) < ed25519.SeedSize {
			return
		}
		seed, err := EncodeSeed(KindUser, b[:ed25519.SeedSize])
		if err != nil {
			t.Fatal(err)
		}
		kp, err := ParseSeed([]byte(seed))
		if err != nil {
			t.Fatalf("encoded seed refused: %v", err)
		}
		want := ed25519.NewKeyFromSeed(b[:ed25519.SeedSize]).Public().(ed25519.PublicKey)
		if _, pub, _ := DecodePublicKey(kp.PublicKey()); !bytes.Equal(pub, want) {
			t.Fatalf("seed round trip changed the key: %x, want %x", pub, want)
		}
		checkKeyPair(t, kp, b)
	})
}

// checkKeyPair: a user public key, and a signature that verifies under it.
func checkKeyPair(t *testing.T, kp *KeyPair, nonce []byte) {
	t.Helper()
	kind, pub, err := DecodePublicKey(kp.PublicKey())
	if err != nil || kind != KindUser {
		t.Fatalf("public key %s: %v %v", kp.PublicKey(), kind, err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(kp.Sign(nonce))
	if err != nil || !ed25519.Verify(pub, nonce, sig) {
		t.Fatalf("signature does not verify (%v)", err)
	}
}
