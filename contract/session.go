package contract

import (
	"errors"
	"time"
)

// Sessioned is implemented by framings whose protocol says things to its
// peer that are not messages: a greeting and a handshake before the first
// message (ZMTP's greeting and READY, WebSocket's upgrade, NATS's INFO and
// CONNECT), control messages among the messages (PING, SUBSCRIBE), and a
// last word at close. NewSession makes the state of one connection's
// session; role is the side its endpoint plays (RoleListen: it accepted
// the connection; RoleConnect, RoleOpen: it made it). A datagram framing
// has no session.
type Sessioned interface {
	NewSession(role Role) Session
}

// Session is one connection's session: a state machine fed bytes and
// messages, returning bytes to write. It never blocks and starts no
// goroutine; the machine calls it from the connection's loop only.
//
// Every hook that writes appends to out and returns it, extended: out's
// first len(out) bytes may be in a write under way and must not change.
// What the hooks return is control output, not messages: it goes out
// whole, ahead of the next message not yet begun (never inside one a
// write has started), is never dropped by an overflow policy, and counts
// in BytesOut and ControlOut, not in Offered, MsgsOut or QueuedMsgs.
// Being never dropped, it is bounded instead: more than the endpoint's
// max_frame of it unwritten (a peer that pings and never reads the
// pongs) closes the connection, counted in Errors.
//
// A session that acts on time (heartbeats) is also a Ticker, and its
// framing Clocked (session_tick.go).
type Session interface {
	// Start returns what to send as soon as the connection is up (a
	// greeting), before anything else; out unchanged: nothing.
	Start(out []byte) []byte
	// Handshake is given the input, before framing sees any, until it
	// reports done. It consumes in[:n] (n may be 0: it needs more bytes;
	// it is called again with the rest while it consumes any), may reply,
	// and says when the session is established: bytes after n are then
	// framed as messages, and the messages queued meanwhile go out. An
	// error closes the connection (counted in Errors). The machine bounds
	// a handshake by the endpoint's max_frame (the bytes it consumes and
	// holds back) and by HandshakeTimeout.
	Handshake(in, out []byte) (n int, reply []byte, done bool, err error)
	// Control looks at each message framed once established. control:
	// it is the session's (a ping, a subscription), answered with reply,
	// counted in ControlIn, and not handed to the program; false: it is
	// a message like any other. An error closes the connection;
	// ErrReplied (with the answer, WebSocket's close frame) ends its input
	// there, in order, and nothing after it is read. A
	// session may change its connection's subscriptions here (see
	// Subscriber and Topics, subscribe.go).
	Control(msg Message, out []byte) (control bool, reply []byte, err error)
	// Close returns what to send before the connection's write side ends
	// (a close frame): best effort, written only where it cannot cut a
	// message short.
	Close(out []byte) []byte
}

// Leaver is a Session whose last words say that this side goes away
// when its router stops (or retires the endpoint at a reload): WebSocket
// sends close code 1001 then, 1000 when a connection ends otherwise. The
// machine calls Leave instead of Close for such a connection; what Leave
// may do is what Close may.
type Leaver interface {
	Leave(out []byte) []byte
}

// ErrReplied is what Handshake (or Control) returns, with its reply, when
// the session has answered its peer and the connection has nothing more
// to read
// (WebSocket: a plain HTTP GET served a page; an upgrade refused with 403
// or 404): the reply is written, then the connection ends as at its
// peer's end of input. It is not counted as an error: the session counts
// such refusals itself (Counted).
var ErrReplied = errors.New("the session replied and ends the connection")

// Message is one framed message as a session sees it: its wire bytes and
// the bounds of its parts in them (one part for a single-part framing).
// Both are valid during the call only.
type Message struct {
	Wire  []byte
	Parts []Part
}

// DefaultHandshakeTimeout bounds a handshake on an endpoint without a
// frame_timeout. A silent peer must not hold a connection (and its place
// under max_conns) for ever; ten seconds is ample for a loaded peer far
// away (libzmq waits 30 s, nats-server 2 s).
const DefaultHandshakeTimeout = 10 * time.Second

// HandshakeTimeout is how long a session's handshake may take on an
// endpoint with settings s: its framing's own bound (Handshake), else its
// frame_timeout, else the default.
func (s *Settings) HandshakeTimeout() time.Duration {
	if s.Handshake > 0 {
		return s.Handshake
	}
	if s.FrameTimeout > 0 {
		return s.FrameTimeout
	}
	return DefaultHandshakeTimeout
}
