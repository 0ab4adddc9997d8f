package opcodes

import (
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/completion"
)

// Role is how an endpoint comes to have a connection.
type Role uint8

const (
	RoleListen  Role = iota + 1 // accepts any number of connections
	RoleConnect                 // connects out: one connection per open or dial
	RoleOpen                    // opens a path or stream (file, stdio): one per open or dial
)

// Endpoint is what the interpreter needs of an endpoint. The endpoints
// package implements it; opcodes never imports endpoints.
type Endpoint interface {
	Role() Role
	// Listen makes the non-blocking listening socket (RoleListen).
	Listen() (fd int, err error)
	// Socket makes a non-blocking socket and the address to connect it to
	// (RoleConnect).
	Socket() (fd int, sa unix.Sockaddr, err error)
	// Open opens the endpoint's stream (RoleOpen).
	Open() (fd int, err error)
	// Release closes fd and undoes what Listen, Socket or Open set up.
	Release(fd int) error
	// Framing splits this endpoint's input and encodes its output.
	Framing() Framing
	// MaxFrame is the largest message accepted from a peer, in bytes.
	MaxFrame() int
	// HighWater is how many bytes may queue for one connection before
	// fan-out drops or a bridge stops reading its source.
	HighWater() int
	// HighWaterMsgs is the same mark in messages; 0 means none.
	HighWaterMsgs() int
	// Overflow is the endpoint's policy at the mark; PolicyDefault leaves
	// it to the route.
	Overflow() Policy
	// Reconnect is how a connect endpoint opened by the router itself
	// (not dialled for a peer) comes back after its connection is lost.
	Reconnect() completion.Backoff
	// IdleTimeout closes a connection quiet for that long; 0: never.
	IdleTimeout() time.Duration
	// FrameTimeout closes a connection whose message has been arriving
	// for that long without completing (a slowloris); 0: never.
	FrameTimeout() time.Duration
	// IgnoreEOF keeps the peer open when this side's input ends.
	IgnoreEOF() bool
	// MaxTopics is how many topic prefixes one connection may hold in one
	// fan-out group by subscribing in band; MaxTopicBytes bounds each.
	MaxTopics() int
	MaxTopicBytes() int
	// Admission is what a listener admits (RoleListen).
	Admission() Admission
	// Replies limits the connections of a request route's worker.
	Replies() ReplyLimits
}

// ReplyLimits bound what one worker connection of a request route holds;
// zero values mean no limit.
type ReplyLimits struct {
	MaxOutstanding int           // requests awaiting replies at once
	Timeout        time.Duration // the longest a request may wait for its reply
}

// Admission limits a listener; zero values mean no limit. Each accepted
// connection is checked before its first read.
type Admission struct {
	MaxConns    int     // open at once
	Rate        float64 // accepts a second, in bursts of up to one second's worth
	Allow, Deny []netip.Prefix
	SndBuf      int // SO_SNDBUF of each accepted socket (unix sockets do not inherit the listener's); 0: the kernel's
}

func (a Admission) any() bool {
	return a.MaxConns > 0 || a.Rate > 0 || len(a.Allow) > 0 || len(a.Deny) > 0 || a.SndBuf > 0
}

// Framing turns a byte stream into messages and messages into a byte stream.
type Framing interface {
	// Name identifies the framing with its parameters; two framings with
	// the same name encode identically, so wire bytes pass unchanged.
	Name() string
	// Split looks at the start of b and returns the wire length of the
	// first whole message and the payload's bounds inside it. wire == 0
	// means more bytes are needed. An error means the stream cannot go on
	// (a message longer than max); the connection is closed.
	Split(b []byte, max int) (wire, start, end int, err error)
	// Encode returns the bytes to write before and after payload. hdr is
	// scratch space of at least 8 bytes the result may use.
	Encode(hdr []byte, payload []byte) (head, tail []byte)
	// Boundaries reports whether the framing keeps message boundaries (raw
	// does not: its messages are whatever one read returned).
	Boundaries() bool
}

// Datagrams is implemented by the datagram framing: each message is read
// as one datagram and must leave as one, so writes are not coalesced, and
// an empty read is an empty datagram, not end of stream.
type Datagrams interface {
	Datagrams() bool
}

// Capped is implemented by framings that cannot carry every payload (a
// 1-byte length header, a datagram): a larger message is dropped for that
// destination and counted as max_frame.
type Capped interface {
	MaxPayload() int
}

// Sizer is implemented by framings whose header states a message's length
// (length-prefix). Size returns the whole message's wire length once the
// header is in b; such a message can be forwarded as it arrives.
type Sizer interface {
	Size(b []byte) (wire int, ok bool)
}

// Resumer is implemented by framings that find a message's end by searching
// for it (lines, delimiter). SplitFrom is Split told that no message end
// begins in b[:from]: it searches only the rest, so a message arriving over
// many reads is searched once, not from its start on every read. With
// wire == 0 it returns scanned, the from to pass once more bytes follow b;
// from 0 means nothing is known, and SplitFrom(b, max, 0) is Split.
type Resumer interface {
	SplitFrom(b []byte, max, from int) (wire, start, end, scanned int, err error)
}
