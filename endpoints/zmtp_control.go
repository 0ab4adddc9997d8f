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
		return true, out, s.subscription(first[1:], first[0] == 1)
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
			return true, out, s.subscription(cmd.data, cmd.name == "SUBSCRIBE")
		}
	case "ERROR":
		return true, out, fmt.Errorf("peer sent ERROR: %s", zmtpErrorReason(cmd.data))
	}
	return true, out, nil
}

// subscription applies a subscriber's change to the counts, bounded by
// the endpoint's max_topics and max_topic_bytes, and reports it.
func (s *zmtpSession) subscription(prefix []byte, subscribe bool) error {
	if subscribe {
		if len(prefix) > s.f.maxTopicBytes {
			return fmt.Errorf("zmtp: subscription of %d bytes, over max_topic_bytes (%d)", len(prefix), s.f.maxTopicBytes)
		}
		if s.subs == nil {
			s.subs = map[string]int{}
		}
		if _, ok := s.subs[string(prefix)]; !ok && len(s.subs) >= s.f.maxTopics {
			return fmt.Errorf("zmtp: more than max_topics (%d) subscriptions", s.f.maxTopics)
		}
		s.subs[string(prefix)]++
	} else {
		n, ok := s.subs[string(prefix)]
		if !ok {
			return nil // a cancel of nothing changes nothing
		}
		if n > 1 {
			s.subs[string(prefix)] = n - 1
		} else {
			delete(s.subs, string(prefix))
		}
	}
	if s.onSub != nil {
		s.onSub(prefix, subscribe)
	}
	return nil
}

// Subscriptions reports the peer's subscriptions: prefix to count. It is
// the seam for filtering on pub and xpub: the session keeps the counts,
// the machine will decide what reaches the connection.
func (s *zmtpSession) Subscriptions() map[string]int { return s.subs }

// OnSubscription has fn told each change the peer makes to its
// subscriptions, as it is made (prefix is valid during the call only).
func (s *zmtpSession) OnSubscription(fn func(prefix []byte, subscribe bool)) { s.onSub = fn }
