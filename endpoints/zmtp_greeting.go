package endpoints

import (
	"bytes"
	"fmt"
)

// The ZMTP 3.x greeting (RFC 23): a 10-byte signature (0xFF, 8 bytes of
// padding, 0x7F), the version (major, minor), a 20-byte mechanism name
// padded with zeros, the as-server flag, and 31 bytes of filler.
const (
	zmtpGreetingLen = 64
	zmtpMajor       = 3
	zmtpMinor       = 1
)

// appendZMTPGreeting appends our greeting: ZMTP 3.1 with mechanism.
func appendZMTPGreeting(out []byte, mechanism string, asServer bool) []byte {
	at := len(out)
	out = append(out, make([]byte, zmtpGreetingLen)...)
	g := out[at:]
	g[0], g[9] = 0xFF, 0x7F
	g[10], g[11] = zmtpMajor, zmtpMinor
	copy(g[12:32], mechanism)
	if asServer {
		g[32] = 1
	}
	return out
}

// zmtpPeerGreeting is what a peer's greeting says.
type zmtpPeerGreeting struct {
	major, minor byte
	mechanism    string
	asServer     bool
}

// parseZMTPGreeting checks as much of a peer's greeting as has arrived,
// so that a peer that is not ZMTP 3.x is refused as soon as it shows:
// complete is false while more bytes are needed. The padding and the
// filler are never checked (RFC 23 says so; libzmq puts data there).
func parseZMTPGreeting(b []byte) (g zmtpPeerGreeting, complete bool, err error) {
	if len(b) >= 1 && b[0] != 0xFF {
		return g, false, fmt.Errorf("not a ZMTP greeting (first byte %#02x, want 0xff): a ZMTP 1.0 peer, or not ZeroMQ", b[0])
	}
	if len(b) >= 10 && b[9]&1 == 0 {
		return g, false, fmt.Errorf("not a ZMTP 3.x signature (byte 10 is %#02x): a ZMTP 1.0 peer, or not ZeroMQ", b[9])
	}
	if len(b) >= 11 && b[10] < zmtpMajor {
		return g, false, fmt.Errorf("peer speaks ZMTP %s: pxroute speaks ZMTP 3.0 and 3.1 (libzmq 4.x, pyzmq 14 or later)", oldZMTP(b[10]))
	}
	if len(b) < zmtpGreetingLen {
		return g, false, nil
	}
	g.major, g.minor = b[10], b[11]
	g.mechanism = string(bytes.TrimRight(b[12:32], "\x00"))
	g.asServer = b[32] == 1
	return g, true, nil
}

// oldZMTP names the protocol a revision byte below 3 belongs to.
func oldZMTP(rev byte) string {
	if rev == 1 {
		return "2.0 (revision 1)"
	}
	return fmt.Sprintf("1.0 or 2.0 (revision %d)", rev)
}

// minor31 reports whether a peer's version has the 3.1 commands (PING,
// PONG, SUBSCRIBE, CANCEL): 3.1 and later, as RFC 23 has peers accept
// any higher version.
func (g zmtpPeerGreeting) minor31() bool { return g.major > 3 || g.minor >= 1 }
