package natsauth

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// jwtOf makes a JWT of the given claims with a dummy signature: the
// server, not this package, checks signatures.
func jwtOf(claims string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"typ":"JWT","alg":"ed25519-nkey"}`)) + "." +
		enc.EncodeToString([]byte(claims)) + "." + enc.EncodeToString([]byte("signature"))
}

// testJWT is a user JWT for the documentation's key.
var testJWT = jwtOf(`{"sub":"` + docPublic + `","nats":{"type":"user","version":2}}`)

func TestParseCreds(t *testing.T) {
	nsc := "-----BEGIN NATS USER JWT-----\n" + testJWT + "\n------END NATS USER JWT------\n\n" +
		"************************* IMPORTANT *************************\n" +
		"NKEY Seed printed below can be used to sign and prove identity.\n" +
		"NKEYs are sensitive and should be treated as secrets.\n\n" +
		"-----BEGIN USER NKEY SEED-----\n" + docSeed + "\n------END USER NKEY SEED------\n\n" +
		"*************************************************************\n"
	accountSeed, err := EncodeSeed(KindAccount, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, in string
		want     error // nil: parses to testJWT and docPublic
	}{
		{"nsc", nsc, nil},
		{"nsc-crlf", strings.ReplaceAll(nsc, "\n", "\r\n"), nil},
		{"no-final-newline", strings.TrimRight(nsc, "*\n"), nil},
		{"three-dashes-and-other-labels", "--- JWT ---\n" + testJWT + "\n---\t---\n--- SEED ---\n" + docSeed + "\n--- end ---", nil},
		{"indented-and-packed", "  -----BEGIN NATS USER JWT-----\n  " + testJWT + "  \n  ------END NATS USER JWT------\n" +
			"-----BEGIN USER NKEY SEED-----\n\t" + docSeed + "\n------END USER NKEY SEED------\n", nil},
		{"seed-on-a-bare-line", "-----BEGIN NATS USER JWT-----\n" + testJWT + "\n------END NATS USER JWT------\n\n" + docSeed + "\n", nil},
		{"bare-lines", testJWT + "\n" + docSeed + "\n", nil},
		{"bare-lines-among-prose", "Some prose. Keep it safe.\n" + testJWT + "\nSeed below:\n" + docSeed + "\n", nil},
		{"bare-lines-seed-first", docSeed + "\n\n" + testJWT + "\n", nil},
		{"padded-jwt", strings.Replace(nsc, testJWT, testJWT+"==", 1), nil},

		{"empty", "", ErrNoJWT},
		{"prose-only", "Some prose. Seed below\n", ErrNoJWT},
		{"only-fences", "-----BEGIN-----\n------END------\n", ErrNoJWT},
		{"jwt-without-seed", "-----BEGIN NATS USER JWT-----\n" + testJWT + "\n------END NATS USER JWT------\n", ErrNoSeed},
		{"jwt-of-two-parts", strings.Replace(nsc, testJWT, "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJVIn0", 1), ErrBadJWT},
		{"jwt-with-empty-part", strings.Replace(nsc, testJWT, "eyJ0eXAiOiJKV1QifQ..c2ln", 1), ErrBadJWT},
		{"jwt-not-base64url", strings.Replace(nsc, testJWT, "eyJ0eX+iOiJKV1QifQ.eyJzdWIiOiJVIn0.c2ln", 1), ErrBadJWT},
		{"jwt-claims-not-json", strings.Replace(nsc, testJWT, jwtOf("not json"), 1), ErrBadJWT},
		{"jwt-of-another-user", strings.Replace(nsc, testJWT, jwtOf(`{"sub":"`+strings.Repeat("U", 70)+`","nats":{"type":"user"}}`), 1), ErrMismatch},
		{"jwt-without-subject", strings.Replace(nsc, testJWT, jwtOf(`{"nats":{"type":"user"}}`), 1), ErrMismatch},
		{"account-jwt", strings.Replace(nsc, testJWT, jwtOf(`{"sub":"`+docPublic+`","nats":{"type":"account"}}`), 1), ErrMismatch},
		{"account-seed", strings.Replace(nsc, docSeed, accountSeed, 1), ErrNotUserSeed},
		{"seed-checksum-corrupted", strings.Replace(nsc, docSeed, docSeed[:40]+"A"+docSeed[41:], 1), ErrChecksum},
		{"megabytes", nsc + strings.Repeat("\n", 1<<20), ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jwt, kp, err := ParseCreds([]byte(tc.in))
			if tc.want != nil {
				if !errors.Is(err, tc.want) || kp != nil || jwt != "" {
					t.Fatalf("ParseCreds = %q, %v, %v; want %v", jwt, kp, err, tc.want)
				}
				if strings.Contains(err.Error(), docSeed[2:12]) {
					t.Fatalf("error %q quotes the seed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimRight(jwt, "=") != testJWT || kp.PublicKey() != docPublic {
				t.Fatalf("ParseCreds = %q, %s; want %q, %s", jwt, kp.PublicKey(), testJWT, docPublic)
			}
		})
	}
}

// The JWT returned is a copy: the caller may wipe the file's bytes.
func TestParseCredsJWTOutlivesTheFile(t *testing.T) {
	b := []byte("-----BEGIN NATS USER JWT-----\n" + testJWT + "\n------END NATS USER JWT------\n" +
		"-----BEGIN USER NKEY SEED-----\n" + docSeed + "\n------END USER NKEY SEED------\n")
	jwt, kp, err := ParseCreds(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if jwt != testJWT || kp.PublicKey() != docPublic || !bytes.Equal(b, make([]byte, len(b))) {
		t.Fatalf("after wiping the file: %q, %s", jwt, kp.PublicKey())
	}
}
