package endpoints

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Z85 (RFC 32) is how ZeroMQ writes CURVE keys: 4 bytes as 5 printable
// characters, a 32-byte key as 40.
const z85Chars = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"

var z85Values = func() (v [256]byte) {
	for i := range v {
		v[i] = 0xFF
	}
	for i := range len(z85Chars) {
		v[z85Chars[i]] = byte(i)
	}
	return v
}()

// z85Encode encodes b, whose length is a multiple of 4.
func z85Encode(b []byte) string {
	out := make([]byte, 0, len(b)/4*5)
	for i := 0; i+4 <= len(b); i += 4 {
		n := uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
		var c [5]byte
		for j := 4; j >= 0; j-- {
			c[j] = z85Chars[n%85]
			n /= 85
		}
		out = append(out, c[:]...)
	}
	return string(out)
}

// z85Decode decodes s, whose length is a multiple of 5.
func z85Decode(s string) ([]byte, error) {
	if len(s)%5 != 0 {
		return nil, fmt.Errorf("z85: %d characters, not a multiple of 5", len(s))
	}
	out := make([]byte, 0, len(s)/5*4)
	for i := 0; i < len(s); i += 5 {
		var n uint64
		for j := range 5 {
			v := z85Values[s[i+j]]
			if v == 0xFF {
				return nil, fmt.Errorf("z85: %q at %d is not a Z85 character", s[i+j], i+j)
			}
			n = n*85 + uint64(v)
		}
		if n > 0xFFFFFFFF {
			return nil, fmt.Errorf("z85: %q at %d is out of range", s[i:i+5], i)
		}
		out = append(out, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return out, nil
}

// zmtpKey is a CURVE key: 32 bytes.
type zmtpKey = [32]byte

// parseZ85Key reads a 40-character Z85 key.
func parseZ85Key(s string) (zmtpKey, error) {
	var k zmtpKey
	if len(s) != 40 {
		return k, fmt.Errorf("a CURVE key is 40 Z85 characters, not %d", len(s))
	}
	b, err := z85Decode(s)
	if err != nil {
		return k, err
	}
	copy(k[:], b)
	return k, nil
}

// readZ85KeyFile reads a key file in either form ZeroMQ tools write: a
// bare 40-character Z85 line (zmq_curve_keypair's output, one key per
// file; blank and # lines ignored), or a ZPL certificate
// (zmq.auth.create_certificates: public-key = "..." and, in a secret
// certificate, secret-key = "..."), from which field (public-key or
// secret-key) is taken. A secret key's file must not be readable by group
// or others: a key others can read is no secret, and refusing to start is
// safer than a warning nobody reads.
func readZ85KeyFile(path, field string) (zmtpKey, error) {
	var k zmtpKey
	if field == "secret-key" {
		if err := checkSecretFile(path); err != nil {
			return k, err
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return k, err
	}
	var bare []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || t[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(t, "=")
		if !ok || len(t) == 40 { // a bare key; Z85 has '=' among its characters
			bare = append(bare, t)
			continue
		}
		if strings.TrimSpace(name) != field {
			continue
		}
		value = strings.Trim(strings.TrimSpace(value), `"`)
		if k, err = parseZ85Key(value); err != nil {
			return k, fmt.Errorf("%s:%d: %s: %v", path, line, field, err)
		}
		return k, nil
	}
	switch {
	case len(bare) == 1:
		if k, err = parseZ85Key(bare[0]); err != nil {
			return k, fmt.Errorf("%s: %v", path, err)
		}
		return k, nil
	case len(bare) > 1:
		return k, fmt.Errorf("%s: %d key lines: want one 40-character Z85 key per file", path, len(bare))
	}
	return k, fmt.Errorf("%s: no %s: want a 40-character Z85 key, or a ZeroMQ certificate with %s = \"...\"", path, field, field)
}

var errSecretReadable = errors.New("readable by group or others: chmod 600 it")

// checkSecretFile refuses a secret whose file others may read.
func checkSecretFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s is %v, %w", path, fi.Mode().Perm(), errSecretReadable)
	}
	return nil
}
