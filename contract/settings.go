package contract

import (
	"net/netip"
	"time"
)

// Settings are what the machine needs to know of one endpoint besides how
// to open it. The machine holds them in one table indexed by endpoint id;
// a connection refers to its endpoint's row (opcodes keeps it per loop in the
// form it reads on every message), never carries a copy of its own.
type Settings struct {
	Framing   Framing // splits this endpoint's input and encodes its output
	MaxFrame  int     // the largest message accepted from a peer, bytes
	HighWater int     // bytes queued for one connection before Overflow applies
	// HighWaterMsgs is the same mark in messages; 0: none.
	HighWaterMsgs int
	// Overflow is the policy at the mark; PolicyDefault leaves it to the
	// route, else the pattern.
	Overflow Policy
	// Reconnect is how a connect endpoint opened by the router itself (not
	// dialled for a peer) comes back after its connection is lost.
	Reconnect Backoff
	// IdleTimeout closes a connection that read and wrote nothing for that
	// long; 0: never.
	IdleTimeout time.Duration
	// FrameTimeout closes a connection whose message has been arriving for
	// that long without completing (a slowloris); 0: never.
	FrameTimeout time.Duration
	// Handshake bounds a session's handshake where the framing has a key
	// of its own for it (WebSocket's header_timeout); 0: see
	// HandshakeTimeout.
	Handshake time.Duration
	// IgnoreEOF keeps the peer open when this side's input ends (no
	// half-close is passed on).
	IgnoreEOF bool
	// MaxTopics and MaxTopicBytes bound what one connection may subscribe
	// to in band, per fan-out group: how many prefixes, how long each.
	// 0: the defaults (see TopicBounds).
	MaxTopics, MaxTopicBytes int
	// SndBuf is SO_SNDBUF for each stream socket, accepted or connected
	// (unix sockets do not inherit the listener's); 0: the kernel's.
	SndBuf int
	// Admission is what a listener admits (RoleListen).
	Admission Admission
	// Replies limits the connections of a request route's worker.
	Replies ReplyLimits
	// Secure, when set, secures each stream connection (TLS) before
	// anything else is read or written on it (secure.go).
	Secure Securer
}

// Defaults for Settings.
const (
	DefaultMaxFrame  = 1 << 20
	DefaultHighWater = 256 << 10

	// A thousand prefixes is far more than a pub/sub subscriber uses (tens,
	// typically: ZeroMQ's and NATS's users), yet with 1 KiB each it caps
	// what one connection's topics hold near 1 MiB per group; matching
	// costs the same however many it holds.
	DefaultMaxTopics     = 1000
	DefaultMaxTopicBytes = 1 << 10

	// Reconnect: 100ms doubling to 5s, with jitter, never giving up.
	DefaultReconnectInitial = 100 * time.Millisecond
	DefaultReconnectMax     = 5 * time.Second
)

// TopicBounds returns MaxTopics and MaxTopicBytes, a zero meaning the
// default (Settings built in code), the byte bound never above MaxFrame.
func (s *Settings) TopicBounds() (topics, bytes int) {
	topics, bytes = s.MaxTopics, s.MaxTopicBytes
	if topics == 0 {
		topics = DefaultMaxTopics
	}
	if bytes == 0 {
		bytes = DefaultMaxTopicBytes
	}
	if s.MaxFrame > 0 {
		bytes = min(bytes, s.MaxFrame)
	}
	return topics, bytes
}

// Admission limits a listener; zero values mean no limit. Each accepted
// connection is checked before its first read.
type Admission struct {
	MaxConns    int     // open at once
	Rate        float64 // accepts a second, in bursts of up to one second's worth
	Allow, Deny []netip.Prefix
}

// Limited reports whether a limits anything.
func (a *Admission) Limited() bool {
	return a.MaxConns > 0 || a.Rate > 0 || len(a.Allow) > 0 || len(a.Deny) > 0
}

// Permits reports whether a peer at ip passes Allow and Deny: any Deny
// match refuses; a non-empty Allow must match.
func (a *Admission) Permits(ip netip.Addr) bool {
	for _, p := range a.Deny {
		if p.Contains(ip) {
			return false
		}
	}
	if len(a.Allow) == 0 {
		return true
	}
	for _, p := range a.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ReplyLimits bound what one worker connection of a request route holds;
// zero values mean no limit.
type ReplyLimits struct {
	MaxOutstanding int           // requests awaiting replies at once
	Timeout        time.Duration // the longest a request may wait for its reply
}
