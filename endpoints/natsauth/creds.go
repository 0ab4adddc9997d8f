package natsauth

import (
	"bytes"
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
// starting with "S" is the seed. A file of bare lines is accepted too: the
// first line that is not the seed is the JWT. The JWT is checked for shape
// only (three base64url parts); the server checks the rest.
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
		token, seed = blocks[0], firstWithPrefix(bare, 'S')
	default:
		seed = firstWithPrefix(bare, 'S')
		for _, l := range bare {
			if l[0] != 'S' {
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
	return string(token), kp, nil
}

// isFence reports whether a trimmed line is a block's fence.
func isFence(l []byte) bool {
	return len(l) >= 6 && bytes.HasPrefix(l, []byte("---")) && bytes.HasSuffix(l, []byte("---"))
}

func firstWithPrefix(lines [][]byte, c byte) []byte {
	for _, l := range lines {
		if l[0] == c {
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

func isBase64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '='
}
