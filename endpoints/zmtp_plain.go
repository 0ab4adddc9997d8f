package endpoints

import (
	"crypto/subtle"
	"errors"
	"fmt"
)

// PLAIN (RFC 24): the client sends HELLO with a username and password in
// clear, the server answers WELCOME or ERROR; then INITIATE and READY
// carry the metadata as NULL's READY does. It authenticates, it does not
// hide: use it on loopback or a trusted network, or use CURVE.

// errZMTPCredentials is what a PLAIN server says to bad credentials: the
// same for an unknown user and a wrong password.
var errZMTPCredentials = errors.New("invalid credentials")

// zmtpPlainServer checks each client's HELLO against users_file.
type zmtpPlainServer struct {
	users    map[string]string
	welcomed bool
}

func (*zmtpPlainServer) name() string   { return "PLAIN" }
func (*zmtpPlainServer) asServer() bool { return true }

// start sends nothing: the client speaks first.
func (*zmtpPlainServer) start(out []byte, _ []zmtpProp) []byte { return out }

func (m *zmtpPlainServer) command(cmd zmtpCmd, out []byte, props []zmtpProp) ([]byte, map[string]string, bool, error) {
	switch {
	case cmd.name == "HELLO" && !m.welcomed:
		user, pass, err := parsePlainHello(cmd.data)
		if err != nil {
			return appendZMTPError(out, "malformed HELLO"), nil, false, err
		}
		if !m.check(user, pass) {
			return appendZMTPError(out, errZMTPCredentials.Error()), nil, false,
				fmt.Errorf("PLAIN: %w for user %q", errZMTPCredentials, user)
		}
		m.welcomed = true
		return appendZMTPCmd(out, "WELCOME"), nil, false, nil
	case cmd.name == "INITIATE" && m.welcomed:
		peer, err := parseZMTPProps(cmd.data)
		if err != nil {
			return out, nil, false, err
		}
		return appendZMTPCmd(out, "READY", appendZMTPProps(nil, props...)), peer, true, nil
	}
	return out, nil, false, fmt.Errorf("zmtp: %q command out of place in a PLAIN handshake", cmd.name)
}

// check compares the password in constant time, and does the same work
// for an unknown user, so that timing tells neither.
func (m *zmtpPlainServer) check(user, pass []byte) bool {
	want, known := m.users[string(user)]
	if !known {
		want = string(pass) + "\x00" // differs from pass, same work
	}
	return subtle.ConstantTimeCompare([]byte(want), pass) == 1 && known
}

// parsePlainHello reads HELLO's two size-prefixed strings.
func parsePlainHello(b []byte) (user, pass []byte, err error) {
	if len(b) < 1 || int(b[0]) > len(b)-1 {
		return nil, nil, errors.New("zmtp: PLAIN HELLO with a cut username")
	}
	user, b = b[1:1+int(b[0])], b[1+int(b[0]):]
	if len(b) < 1 || int(b[0]) != len(b)-1 {
		return nil, nil, errors.New("zmtp: PLAIN HELLO with a cut or overlong password")
	}
	return user, b[1:], nil
}

// zmtpPlainClient sends its credentials and the metadata.
type zmtpPlainClient struct {
	user, pass string
	welcomed   bool
}

func (*zmtpPlainClient) name() string   { return "PLAIN" }
func (*zmtpPlainClient) asServer() bool { return false }

func (m *zmtpPlainClient) start(out []byte, _ []zmtpProp) []byte {
	return appendZMTPCmd(out, "HELLO", []byte{byte(len(m.user))}, []byte(m.user), []byte{byte(len(m.pass))}, []byte(m.pass))
}

func (m *zmtpPlainClient) command(cmd zmtpCmd, out []byte, props []zmtpProp) ([]byte, map[string]string, bool, error) {
	switch {
	case cmd.name == "WELCOME" && !m.welcomed:
		m.welcomed = true
		return appendZMTPCmd(out, "INITIATE", appendZMTPProps(nil, props...)), nil, false, nil
	case cmd.name == "READY" && m.welcomed:
		peer, err := parseZMTPProps(cmd.data)
		return out, peer, err == nil, err
	}
	return out, nil, false, fmt.Errorf("zmtp: %q command out of place in a PLAIN handshake", cmd.name)
}
