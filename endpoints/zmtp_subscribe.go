package endpoints

import "github.com/pxroute/pxroute/contract"

// Subscriptions on framing zmtp. A pub or xpub endpoint's connections
// subscribe (contract.Subscriber): the peer's SUBSCRIBE and CANCEL (3.1)
// or \x01 and \x00 messages (3.0) become the machine's counted holds,
// which filter on the first part before anything is queued. An xsub
// forwards its fan-out's subscriptions to its peer (contract.Upstream),
// as zmq_proxy does; a sub sends only its subscribe: list. The framing
// value differs by socket type so that only those types have the methods
// the machine looks for.

// zmtpPubFraming is framing: zmtp on socket pub and xpub.
type zmtpPubFraming struct{ *zmtpFraming }

// NewSubscriber starts a session whose peer's subscriptions go to topics.
func (f zmtpPubFraming) NewSubscriber(role contract.Role, topics contract.Topics) contract.Session {
	return f.session(role, topics, false)
}

// zmtpXSubFraming is framing: zmtp on socket xsub.
type zmtpXSubFraming struct{ *zmtpFraming }

func (f zmtpXSubFraming) NewSession(role contract.Role) contract.Session {
	return f.session(role, nil, true)
}

// newZMTPFraming gives f the methods its socket type calls for.
func newZMTPFraming(f *zmtpFraming) contract.Framing {
	switch {
	case f.socket.publisher():
		return zmtpPubFraming{f}
	case f.socket == zmtpXSub:
		return zmtpXSubFraming{f}
	}
	return f
}

// zmtpOf returns framing: zmtp's shared part, or nil for another framing.
func zmtpOf(f contract.Framing) *zmtpFraming {
	switch z := f.(type) {
	case *zmtpFraming:
		return z
	case zmtpPubFraming:
		return z.zmtpFraming
	case zmtpXSubFraming:
		return z.zmtpFraming
	}
	return nil
}

// subscription applies a subscriber's change (pub, xpub). A refusal by
// max_topics or max_topic_bytes is the machine's to count and log; the
// connection stays, without that subscription.
func (s *zmtpSession) subscription(prefix []byte, subscribe bool) {
	switch {
	case s.topics == nil: // a session made without the machine's topics
	case subscribe:
		s.topics.Subscribe(prefix)
	default:
		s.topics.Cancel(prefix)
	}
}

// zmtpXSubSession is an xsub connection's session: it sends its
// subscribe: list on every (re)connect, as a sub does, and then whatever
// the fan-out it feeds holds. Both are holds on the prefixes it sent: a
// prefix goes out on its first hold and is cancelled on its last, so the
// static prefixes stay subscribed whatever the destinations do, and a
// peer PUB (which keeps each subscriber's prefixes as a set, as libzmq
// does) never sees one prefix subscribed twice.
type zmtpXSubSession struct {
	*zmtpSession
	holds zmtpHolds
}

// Subscribe forwards a change of the fan-out's subscriptions (the
// machine tells of each prefix's first hold and last release).
func (s *zmtpXSubSession) Subscribe(prefix []byte, on bool, out []byte) []byte {
	return s.holds.change(s.zmtpSession, prefix, on, out)
}

// zmtpHolds counts the holds on each prefix an xsub sent its peer: its
// subscribe: list (held from the start) and the fan-out's.
type zmtpHolds struct{ held map[string]int }

func (h *zmtpHolds) change(s *zmtpSession, prefix []byte, on bool, out []byte) []byte {
	if h.held == nil {
		h.held = make(map[string]int, len(s.f.subscribe)+1)
		for _, p := range s.f.subscribe {
			h.held[p]++
		}
	}
	n := h.held[string(prefix)]
	switch {
	case on:
		h.held[string(prefix)] = n + 1
		if n == 0 {
			return s.appendSubscription(out, prefix, true)
		}
	case n == 1:
		delete(h.held, string(prefix))
		return s.appendSubscription(out, prefix, false)
	case n > 1:
		h.held[string(prefix)] = n - 1
	}
	return out
}

var (
	_ contract.Subscriber = zmtpPubFraming{}
	_ contract.Sessioned  = zmtpXSubFraming{}
	_ contract.Multipart  = zmtpXSubFraming{}
	_ contract.Directed   = zmtpXSubFraming{}
	_ contract.Upstream   = (*zmtpXSubSession)(nil)
	_ contract.Upstream   = (*zmtpSealedXSubSession)(nil)
	_ contract.Session    = (*zmtpXSubSession)(nil)
)
