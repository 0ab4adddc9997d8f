package natsauth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// MaxCredsFile bounds what ParseCreds reads. A user JWT with long
// permission lists is a few kilobytes; 64 KiB is generous.
const MaxCredsFile = 64 << 10

// ParseCreds parses a .creds file, as nsc writes it:
//
//	-----BEGIN NATS USER JWT-----
//	eyJ0eXAiOi...
//	------END NATS USER JWT------
//
//	-----BEGIN USER NKEY SEED-----
//	SUAM...
//	------END USER NKEY SEED------
//
// A fence is any line that starts and ends with at least three dashes (the
// labels and dash counts vary, so they are not compared); a block is a
// fence, one token line and a fence. As in nats.go, the first block is the
// JWT and the second the seed; without a second block, the first bare line
// starting with "S" (one word) is the seed. A file of bare lines is accepted
// too: the first other word with a dot is the JWT. The JWT is checked for shape
// (three base64url parts, JSON claims) and against the seed: a user JWT
// whose subject is the seed's public key, so that a mismatched file fails
// here, clearly, not at the server as an "Authorization Violation". Its
// signature and expiry are the server's to check.
func ParseCreds(b []byte) (jwt string, kp *KeyPair, err error) {
	if len(b) > MaxCredsFile {
		return "", nil, fmt.Errorf("%w: %d bytes, a creds file has at most %d", ErrTooLarge, len(b), MaxCredsFile)
	}
	var blocks, bare [][]byte
	lines := bytes.Split(b, []byte("\n"))
	for i := range lines {
		lines[i] = bytes.TrimSpace(lines[i]) // also the \r of CRLF files
	}
	for i := 0; i < len(lines); i++ {
		switch {
		case isFence(lines[i]) && i+2 < len(lines) && len(lines[i+1]) > 0 &&
			!isFence(lines[i+1]) && isFence(lines[i+2]):
			blocks = append(blocks, lines[i+1])
			i += 2
		case len(lines[i]) > 0 && !isFence(lines[i]):
			bare = append(bare, lines[i])
		}
	}

	var token, seed []byte
	switch {
	case len(blocks) >= 2:
		token, seed = blocks[0], blocks[1]
	case len(blocks) == 1:
		token, seed = blocks[0], bareSeed(bare)
	default:
		seed = bareSeed(bare)
		for _, l := range bare {
			if l[0] != 'S' && bytes.IndexByte(l, '.') >= 0 && bytes.IndexByte(l, ' ') < 0 {
				token = l
				break
			}
		}
	}
	if token == nil {
		return "", nil, fmt.Errorf("%w (expected a block fenced by -----BEGIN NATS USER JWT----- lines)", ErrNoJWT)
	}
	if err := checkJWTShape(token); err != nil {
		return "", nil, err
	}
	if seed == nil {
		return "", nil, fmt.Errorf("%w (expected a second block, -----BEGIN USER NKEY SEED-----)", ErrNoSeed)
	}
	kp, err = ParseSeed(seed)
	if err != nil {
		return "", nil, fmt.Errorf("creds seed: %w", err)
	}
	if err := checkJWTClaims(token, kp.PublicKey()); err != nil {
		kp.Wipe()
		return "", nil, err
	}
	return string(token), kp, nil
}

// isFence reports whether a trimmed line is a block's fence.
func isFence(l []byte) bool {
	return len(l) >= 6 && bytes.HasPrefix(l, []byte("---")) && bytes.HasSuffix(l, []byte("---"))
}

// bareSeed returns the first line that reads as a seed: a word starting
// with S (the prose nsc writes around the blocks has spaces).
func bareSeed(lines [][]byte) []byte {
	for _, l := range lines {
		if l[0] == 'S' && bytes.IndexByte(l, ' ') < 0 {
			return l
		}
	}
	return nil
}

// checkJWTShape accepts header.payload.signature, each part non-empty
// base64url (padding tolerated, as nats.go's pattern does).
func checkJWTShape(t []byte) error {
	parts := bytes.Split(t, []byte("."))
	if len(parts) != 3 {
		return fmt.Errorf("%w: %d dot-separated parts, a JWT has 3", ErrBadJWT, len(parts))
	}
	for i, p := range parts {
		if len(p) == 0 {
			return fmt.Errorf("%w: part %d is empty", ErrBadJWT, i+1)
		}
		for j, c := range p {
			if !isBase64URL(c) {
				return fmt.Errorf("%w: part %d has a character outside base64url at offset %d", ErrBadJWT, i+1, j)
			}
		}
	}
	return nil
}

// checkJWTClaims checks that a JWT of the right shape is a user JWT for
// the public key user.
func checkJWTClaims(t []byte, user string) error {
	payload := bytes.TrimRight(bytes.Split(t, []byte("."))[1], "=")
	j := make([]byte, base64.RawURLEncoding.DecodedLen(len(payload)))
	n, err := base64.RawURLEncoding.Decode(j, payload)
	if err != nil {
		return fmt.Errorf("%w: claims are not base64url (%v)", ErrBadJWT, err)
	}
	var claims struct {
		Sub  string `json:"sub"`
		NATS struct {
			Type string `json:"type"`
		} `json:"nats"`
	}
	if err := json.Unmarshal(j[:n], &claims); err != nil {
		return fmt.Errorf("%w: claims are not JSON (%v)", ErrBadJWT, err)
	}
	if claims.NATS.Type != "" && claims.NATS.Type != "user" {
		return fmt.Errorf("%w: the JWT's type is not \"user\"", ErrMismatch)
	}
	if claims.Sub != user {
		sub := claims.Sub
		if len(sub) > PublicKeyLen {
			sub = sub[:PublicKeyLen] + "..."
		}
		return fmt.Errorf("%w: the JWT is for %q, the seed is %s's", ErrMismatch, sub, user)
	}
	return nil
}

func isBase64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '='
}
