package endpoints

import (
	"errors"
	"fmt"

	"github.com/pxroute/pxroute/contract"
)

// zmtpMechanism is a security mechanism's side of the handshake (RFC 23):
// after the greetings it sends its first commands, then is fed the peer's
// handshake commands until it says the connection is established, with
// the peer's metadata (Socket-Type, Identity, ...). NULL is one; PLAIN and
// CURVE plug in beside it, each its own state machine.
type zmtpMechanism interface {
	// name is the mechanism as the greeting spells it ("NULL").
	name() string
	// asServer is the greeting's as-server flag.
	asServer() bool
	// start appends what to send once the peer's greeting is accepted;
	// props is our metadata.
	start(out []byte, props []zmtpProp) []byte
	// command takes one handshake command from the peer and appends the
	// answer; done once established, with the peer's metadata.
	command(cmd zmtpCmd, out []byte, props []zmtpProp) (reply []byte, peer map[string]string, done bool, err error)
}

// zmtpState is where a session is: one state at a time, moving forward.
type zmtpState uint8

const (
	zmtpAwaitGreeting zmtpState = iota // our greeting is out; the peer's is arriving
	zmtpSecuring                       // the mechanism's commands go back and forth
	zmtpEstablished                    // messages flow; commands are control
)

// zmtpSession is one connection's ZMTP session (contract.Session).
type zmtpSession struct {
	f     *zmtpFraming
	role  contract.Role
	mech  zmtpMechanism
	state zmtpState
	peer  zmtpPeerGreeting
	// peerType is the peer's Socket-Type, once established.
	peerType string
	// sealAt is where the output of the call that established the
	// session stops being handshake (zmtpSealedSession seals the rest).
	sealAt int

	// topics takes the peer's subscriptions (pub, xpub: see
	// zmtp_subscribe.go); the machine counts the holds.
	topics contract.Topics

	beats zmtpBeats // heartbeats (zmtp_heartbeat.go)
}

func newZMTPSession(f *zmtpFraming, role contract.Role) *zmtpSession {
	return &zmtpSession{f: f, role: role, mech: zmtpNull{}}
}

// props is our metadata: the Socket-Type, and an empty Identity (pxroute
// routes replies by connection, so it asks for no routing id).
func (s *zmtpSession) props() []zmtpProp {
	return []zmtpProp{{"Socket-Type", s.f.socket.wire()}, {"Identity", ""}}
}

// Start sends our greeting at once: RFC 23 lets both sides send it
// without waiting, and a peer that waits for ours is not held.
func (s *zmtpSession) Start(out []byte) []byte {
	return appendZMTPGreeting(out, s.mech.name(), s.mech.asServer())
}

// Handshake reads the peer's greeting, then the mechanism's commands.
func (s *zmtpSession) Handshake(in, out []byte) (int, []byte, bool, error) {
	switch s.state {
	case zmtpAwaitGreeting:
		g, complete, err := parseZMTPGreeting(in)
		if err != nil || !complete {
			return 0, out, false, err
		}
		s.peer = g
		if g.mechanism != s.mech.name() {
			err := fmt.Errorf("security mechanism mismatch: the peer offers %q, this endpoint speaks %s", g.mechanism, s.mech.name())
			return zmtpGreetingLen, appendZMTPError(out, "security mechanism mismatch"), false, err
		}
		s.state = zmtpSecuring
		return zmtpGreetingLen, s.mech.start(out, s.props()), false, nil
	case zmtpSecuring:
		flags, hdr, size, err := zmtpHeader(in)
		switch {
		case err != nil:
			return 0, out, false, err
		case hdr == 0:
			return 0, out, false, nil
		case flags&zmtpCommand == 0 || flags&zmtpMore != 0:
			return 0, out, false, errors.New("zmtp: a message before the handshake ended")
		case uint64(hdr)+size > uint64(s.f.maxFrame):
			return 0, out, false, fmt.Errorf("zmtp: handshake command of %d bytes, over max_frame (%d)", size, s.f.maxFrame)
		case uint64(len(in)-hdr) < size:
			return 0, out, false, nil
		}
		n := hdr + int(size)
		cmd, err := parseZMTPCmd(in[hdr:n])
		if err != nil {
			return 0, out, false, err
		}
		if cmd.name == "ERROR" {
			return 0, out, false, fmt.Errorf("peer refused the handshake: %s", zmtpErrorReason(cmd.data))
		}
		out, peer, done, err := s.mech.command(cmd, out, s.props())
		if err != nil || !done {
			return n, out, false, err
		}
		return s.established(n, out, peer)
	}
	return 0, out, false, errors.New("zmtp: handshake after it ended")
}

// established checks the peer's metadata, which every mechanism ends
// with, and opens the session: a subscriber sends its subscriptions.
func (s *zmtpSession) established(n int, out []byte, peer map[string]string) (int, []byte, bool, error) {
	typ, ok := peer["socket-type"]
	if !ok {
		return 0, appendZMTPError(out, "missing Socket-Type"), false, errors.New("zmtp: the peer's metadata has no Socket-Type")
	}
	if !s.f.socket.accepts(typ) {
		err := fmt.Errorf("zmtp: a %q peer cannot talk to this endpoint's socket %s (RFC 37's valid pairs)", typ, s.f.socket)
		return 0, appendZMTPError(out, "invalid socket type"), false, err
	}
	s.peerType, s.state = typ, zmtpEstablished
	s.sealAt = len(out) // what follows is sealed, where the mechanism seals
	if s.f.socket.subscriber() {
		out = s.appendSubscriptions(out)
	}
	return n, out, true, nil
}

// appendSubscriptions sends subscribe: as SUBSCRIBE commands to a 3.1
// peer, and as messages of \x01 and the prefix to a 3.0 one (RFC 29).
func (s *zmtpSession) appendSubscriptions(out []byte) []byte {
	for _, prefix := range s.f.subscribe {
		out = s.appendSubscription(out, []byte(prefix), true)
	}
	return out
}

// appendSubscription sends one subscription (on) or cancel: SUBSCRIBE or
// CANCEL to a 3.1 peer, a message of \x01 or \x00 and the prefix to a
// 3.0 one.
func (s *zmtpSession) appendSubscription(out, prefix []byte, on bool) []byte {
	if s.peer.minor31() {
		name := "CANCEL"
		if on {
			name = "SUBSCRIBE"
		}
		return appendZMTPCmd(out, name, prefix)
	}
	flag := byte(0)
	if on {
		flag = 1
	}
	out = appendZMTPHeader(out, 0, 1+len(prefix))
	return append(append(out, flag), prefix...)
}

// appendZMTPError appends an ERROR command: a reason of up to 255 bytes.
func appendZMTPError(out []byte, reason string) []byte {
	return appendZMTPCmd(out, "ERROR", []byte{byte(len(reason))}, []byte(reason))
}

// zmtpErrorReason reads an ERROR command's reason, bounded by its size.
func zmtpErrorReason(data []byte) string {
	if len(data) == 0 || int(data[0]) > len(data)-1 {
		return "(no reason given)"
	}
	return fmt.Sprintf("%q", data[1:1+int(data[0])])
}

// Close says nothing: ZMTP ends with the connection.
func (s *zmtpSession) Close(out []byte) []byte { return out }

var _ contract.Session = (*zmtpSession)(nil)
