package endpoints

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pxroute/pxroute/contract"
)

// maxPingContext bounds a PING's context (RFC 37: up to 16 bytes), which
// the PONG echoes.
const maxPingContext = 16

// Control handles what arrives once established: commands never reach
// the program; on pub and xpub, a subscriber's messages are subscriptions
// (ZMTP 3.0's \x01 and \x00 messages), control too.
func (s *zmtpSession) Control(msg contract.Message, out []byte) (bool, []byte, error) {
	first := msg.Wire[msg.Parts[0].Lo:msg.Parts[0].Hi]
	if msg.Wire[0]&zmtpCommand != 0 {
		return s.command(first, out)
	}
	if !s.f.socket.publisher() {
		return false, out, nil
	}
	// A subscriber sends nothing else; libzmq's PUB drops what is not a
	// subscription, and so does pxroute (counted in ControlIn).
	if len(msg.Parts) == 1 && len(first) > 0 && first[0] <= 1 {
		s.subscription(first[1:], first[0] == 1) // zmtp_subscribe.go
	}
	return true, out, nil
}

// command answers one command. Unknown ones are ignored, as libzmq does
// and RFC 37 allows for extensions; each is counted in ControlIn and
// costs nothing more, so a flood of them costs only its own bytes.
func (s *zmtpSession) command(body, out []byte) (bool, []byte, error) {
	cmd, err := parseZMTPCmd(body)
	if err != nil {
		return true, out, err
	}
	switch cmd.name {
	case "PING":
		if len(cmd.data) < 2 {
			return true, out, errors.New("zmtp: PING without its TTL")
		}
		ctx := cmd.data[2:]
		if len(ctx) > maxPingContext {
			return true, out, fmt.Errorf("zmtp: PING context of %d bytes, over RFC 37's %d", len(ctx), maxPingContext)
		}
		s.peerPinged(binary.BigEndian.Uint16(cmd.data))
		return true, appendZMTPCmd(out, "PONG", ctx), nil
	case "SUBSCRIBE", "CANCEL":
		if s.f.socket.publisher() {
			s.subscription(cmd.data, cmd.name == "SUBSCRIBE")
		}
	case "ERROR":
		return true, out, fmt.Errorf("peer sent ERROR: %s", zmtpErrorReason(cmd.data))
	}
	return true, out, nil
}
