package endpoints

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/curve25519"
)

// An endpoint's ZMTP security: plain: or curve:, each a mapping whose keys
// say which side pxroute plays; neither is NULL. Key and password files
// are read when the topology is loaded (and reloaded), so a missing or
// bad one is a file:line:col error at the key, naming the path.

// zmtpSecurityKeys are the mappings as given.
type zmtpSecurityKeys struct {
	plain, curve Params
}

// parseZMTPSecurityKeys reads plain: and curve: where the Params can hold
// a mapping (a topology file's can).
func parseZMTPSecurityKeys(p Params) (k zmtpSecurityKeys, present []string) {
	n, ok := p.(Nested)
	if !ok {
		return k, nil
	}
	if m, ok := n.Map("plain"); ok {
		k.plain, present = m, append(present, "plain")
	}
	if m, ok := n.Map("curve"); ok {
		k.curve, present = m, append(present, "curve")
	}
	return k, present
}

// zmtpPlainConfig is plain: server side (users) or client side.
type zmtpPlainConfig struct {
	users      map[string]string
	user, pass string
}

// zmtpCurveConfig is curve: server side (serverKey zero) or client side.
type zmtpCurveConfig struct {
	server         bool
	public, secret zmtpKey
	serverKey      zmtpKey
	cookies        *zmtpCookieKeys
}

// secure applies plain: or curve: to f; false after an error.
func (k zmtpSecurityKeys) secure(p Params, f *zmtpFraming) bool {
	switch {
	case k.plain != nil && k.curve != nil:
		p.Errorf("curve", "plain and curve are two security mechanisms: give one")
		return false
	case k.plain != nil:
		f.plain = parsePlainKeys(k.plain)
		return f.plain != nil
	case k.curve != nil:
		f.curve = parseCurveKeys(k.curve)
		return f.curve != nil
	}
	return true
}

// parsePlainKeys reads plain: {users_file} (server) or {username,
// password_file | password} (client).
func parsePlainKeys(p Params) *zmtpPlainConfig {
	usersFile, server := p.String("users_file")
	user, hasUser := p.String("username")
	passFile, hasPassFile := p.String("password_file")
	pass, hasPass := p.String("password")
	switch {
	case server && (hasUser || hasPassFile || hasPass):
		p.Errorf("users_file", "plain: users_file makes pxroute the PLAIN server; username and password are the client's: give one side")
		return nil
	case server:
		users, err := readPlainUsers(usersFile)
		if err != nil {
			p.Errorf("users_file", "users_file: %v", err)
			return nil
		}
		return &zmtpPlainConfig{users: users}
	case !hasUser:
		p.Errorf("", "plain: needs users_file (pxroute is the server) or username and password_file (pxroute is the client)")
		return nil
	case hasPass == hasPassFile:
		p.Errorf("username", "plain: a client needs one of password_file and password")
		return nil
	case hasPassFile:
		if err := checkSecretFile(passFile); err != nil {
			p.Errorf("password_file", "password_file: %v", err)
			return nil
		}
		b, err := os.ReadFile(passFile)
		if err != nil {
			p.Errorf("password_file", "password_file: %v", err)
			return nil
		}
		pass = strings.TrimRight(string(b), "\r\n")
	}
	if len(user) > 255 || len(pass) > 255 {
		p.Errorf("username", "plain: username and password are at most 255 bytes each (RFC 24)")
		return nil
	}
	return &zmtpPlainConfig{user: user, pass: pass}
}

// readPlainUsers reads a users file: one user:password a line (the
// password is the rest of the line after the first colon), blank lines and
// lines starting with # skipped. It holds passwords, so it must not be
// readable by group or others.
func readPlainUsers(path string) (map[string]string, error) {
	if err := checkSecretFile(path); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	users := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(t) == "" || strings.HasPrefix(t, "#") {
			continue
		}
		user, pass, ok := strings.Cut(t, ":")
		switch {
		case !ok || user == "":
			return nil, fmt.Errorf("%s:%d: want user:password", path, line)
		case len(user) > 255 || len(pass) > 255:
			return nil, fmt.Errorf("%s:%d: user and password are at most 255 bytes each (RFC 24)", path, line)
		}
		if _, dup := users[user]; dup {
			return nil, fmt.Errorf("%s:%d: user %q again", path, line, user)
		}
		users[user] = pass
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("%s: no users", path)
	}
	return users, nil
}

// parseCurveKeys reads curve: {secret_key_file} (server) or {server_key,
// secret_key_file, public_key_file} (client). A public key is derived
// from the secret one; public_key_file, if given, must match it.
func parseCurveKeys(p Params) *zmtpCurveConfig {
	secretFile, hasSecret := p.String("secret_key_file")
	publicFile, hasPublic := p.String("public_key_file")
	serverKey, client := p.String("server_key")
	if !hasSecret {
		p.Errorf("", "curve: needs secret_key_file (a Z85 key as zmq_curve_keypair writes it, or a ZeroMQ secret certificate)")
		return nil
	}
	c := &zmtpCurveConfig{server: !client}
	var err error
	if c.secret, err = readZ85KeyFile(secretFile, "secret-key"); err != nil {
		p.Errorf("secret_key_file", "secret_key_file: %v", err)
		return nil
	}
	pub, err := curve25519.X25519(c.secret[:], curve25519.Basepoint)
	if err != nil {
		p.Errorf("secret_key_file", "secret_key_file: %v", err)
		return nil
	}
	copy(c.public[:], pub)
	if hasPublic {
		given, err := readZ85KeyFile(publicFile, "public-key")
		if err != nil {
			p.Errorf("public_key_file", "public_key_file: %v", err)
			return nil
		}
		if given != c.public {
			p.Errorf("public_key_file", "public_key_file: %s is not the public key of secret_key_file %s", publicFile, secretFile)
			return nil
		}
	}
	if client {
		if c.serverKey, err = parseZ85Key(serverKey); err != nil {
			p.Errorf("server_key", "server_key: %v", err)
			return nil
		}
	} else {
		c.cookies = &zmtpCookieKeys{}
	}
	return c
}
