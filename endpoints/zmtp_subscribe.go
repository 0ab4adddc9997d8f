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
	s := newZMTPSession(f.zmtpFraming, role)
	s.topics = topics
	return s
}

// zmtpXSubFraming is framing: zmtp on socket xsub.
type zmtpXSubFraming struct{ *zmtpFraming }

func (f zmtpXSubFraming) NewSession(role contract.Role) contract.Session {
	return &zmtpXSubSession{zmtpSession: newZMTPSession(f.zmtpFraming, role)}
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
	held map[string]int
}

// Handshake counts the subscribe: list as held once established.
func (s *zmtpXSubSession) Handshake(in, out []byte) (int, []byte, bool, error) {
	n, out, done, err := s.zmtpSession.Handshake(in, out)
	if done {
		s.held = make(map[string]int, len(s.f.subscribe))
		for _, p := range s.f.subscribe {
			s.held[p]++
		}
	}
	return n, out, done, err
}

// Subscribe forwards a change of the fan-out's subscriptions (the
// machine tells of each prefix's first hold and last release).
func (s *zmtpXSubSession) Subscribe(prefix []byte, on bool, out []byte) []byte {
	if s.held == nil {
		s.held = map[string]int{}
	}
	n := s.held[string(prefix)]
	switch {
	case on:
		s.held[string(prefix)] = n + 1
		if n == 0 {
			return s.appendSubscription(out, prefix, true)
		}
	case n == 1:
		delete(s.held, string(prefix))
		return s.appendSubscription(out, prefix, false)
	case n > 1:
		s.held[string(prefix)] = n - 1
	}
	return out
}

var (
	_ contract.Subscriber = zmtpPubFraming{}
	_ contract.Sessioned  = zmtpXSubFraming{}
	_ contract.Multipart  = zmtpXSubFraming{}
	_ contract.Directed   = zmtpXSubFraming{}
	_ contract.Upstream   = (*zmtpXSubSession)(nil)
	_ contract.Session    = (*zmtpXSubSession)(nil)
)
