package endpoints

import (
	"fmt"
	"strings"
)

// zmtpSocket is a ZeroMQ socket type, the part pxroute plays on a zmtp
// endpoint (RFC 37's Socket-Type property, as the peer sees it).
type zmtpSocket uint8

const (
	zmtpPub zmtpSocket = iota + 1
	zmtpSub
	zmtpXPub
	zmtpXSub
	zmtpPush
	zmtpPull
	zmtpReq
	zmtpRep
	zmtpRouter
	zmtpDealer
	zmtpPair
)

// zmtpSocketTypes is each type's rules in one row: its name in the
// topology, its name on the wire, the peer types RFC 37 lets it talk to,
// and which way its messages go through pxroute.
var zmtpSocketTypes = [...]struct {
	key, wire string
	peers     []zmtpSocket
	// sends: pxroute may deliver messages to it (a destination);
	// receives: its peers' messages reach pxroute's routes (a source).
	// A subscriber's subscriptions are control, not messages, so pub and
	// xpub only send.
	sends, receives bool
}{
	zmtpPub:    {"pub", "PUB", []zmtpSocket{zmtpSub, zmtpXSub}, true, false},
	zmtpSub:    {"sub", "SUB", []zmtpSocket{zmtpPub, zmtpXPub}, false, true},
	zmtpXPub:   {"xpub", "XPUB", []zmtpSocket{zmtpSub, zmtpXSub}, true, false},
	zmtpXSub:   {"xsub", "XSUB", []zmtpSocket{zmtpPub, zmtpXPub}, false, true},
	zmtpPush:   {"push", "PUSH", []zmtpSocket{zmtpPull}, true, false},
	zmtpPull:   {"pull", "PULL", []zmtpSocket{zmtpPush}, false, true},
	zmtpReq:    {"req", "REQ", []zmtpSocket{zmtpRep, zmtpRouter}, true, true},
	zmtpRep:    {"rep", "REP", []zmtpSocket{zmtpReq, zmtpDealer}, true, true},
	zmtpRouter: {"router", "ROUTER", []zmtpSocket{zmtpReq, zmtpDealer, zmtpRouter}, true, true},
	zmtpDealer: {"dealer", "DEALER", []zmtpSocket{zmtpRep, zmtpDealer, zmtpRouter}, true, true},
	zmtpPair:   {"pair", "PAIR", []zmtpSocket{zmtpPair}, true, true},
}

// zmtpSocketKeys lists the socket: values, for error messages.
func zmtpSocketKeys() []string {
	var out []string
	for t := zmtpPub; t <= zmtpPair; t++ {
		out = append(out, zmtpSocketTypes[t].key)
	}
	return out
}

// parseZMTPSocket reads a socket: value.
func parseZMTPSocket(s string) (zmtpSocket, error) {
	for t := zmtpPub; t <= zmtpPair; t++ {
		if zmtpSocketTypes[t].key == s {
			return t, nil
		}
	}
	return 0, fmt.Errorf("socket %q: want one of %s", s, strings.Join(zmtpSocketKeys(), ", "))
}

func (t zmtpSocket) String() string { return zmtpSocketTypes[t].key }

// wire is the type's Socket-Type property value.
func (t zmtpSocket) wire() string { return zmtpSocketTypes[t].wire }

// accepts reports whether a peer announcing Socket-Type peer may talk to
// t (RFC 37's table; the names are case-sensitive there, as libzmq is).
func (t zmtpSocket) accepts(peer string) bool {
	for _, p := range zmtpSocketTypes[t].peers {
		if p.wire() == peer {
			return true
		}
	}
	return false
}

// subscriber reports whether t sends subscriptions (sub, xsub).
func (t zmtpSocket) subscriber() bool { return t == zmtpSub || t == zmtpXSub }

// publisher reports whether t takes subscriptions from its peers.
func (t zmtpSocket) publisher() bool { return t == zmtpPub || t == zmtpXPub }
