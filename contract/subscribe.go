package contract

// Sessions that choose what their connection takes from a fan-out (a
// ZeroMQ PUB's SUB peers, NATS SUB/UNSUB), and sessions that pass the
// fan-out's subscriptions on to the peer they read from (an XSUB, as
// zmq_proxy does).

// Subscriber is implemented by Sessioned framings whose connections
// subscribe: as destinations of a fan-out, they start subscribed to
// nothing (a ZeroMQ SUB receives nothing until it subscribes), and their
// session changes what they take through topics. The machine calls
// NewSubscriber instead of NewSession for each connection of such an
// endpoint. A framing whose endpoints differ (ZMTP's socket: pub and
// socket: pair) gives the ones that do not subscribe a value without this
// method.
type Subscriber interface {
	Sessioned
	NewSubscriber(role Role, topics Topics) Session
}

// Topics changes one connection's subscriptions, in every fan-out group
// its endpoint is a destination of (a connection in none holds its
// subscriptions to no effect). Its session calls it from its hooks only
// (Control, typically; the call that changes subscriptions is still a
// control message, counted in ControlIn), never after the hook returns.
// Subscriptions match a message's first part by prefix; matching costs
// the same however many are held.
type Topics interface {
	// Subscribe adds one hold on prefix, and reports whether the
	// connection holds it now. Holds are counted per prefix (subscribe
	// twice, cancel once: still subscribed), as ZeroMQ's PUB counts
	// them. A prefix not yet held must fit the endpoint's
	// max_topic_bytes and its max_topics places (in each group), else
	// it is refused: not held, counted in TopicsRefused, and false.
	// prefix is copied; it may be reused when Subscribe returns.
	Subscribe(prefix []byte) bool
	// Cancel takes one hold off prefix; the last one unsubscribes. A
	// prefix not held (never, or refused) is ignored.
	Cancel(prefix []byte)
}

// Upstream is implemented by sessions of a fan-out's source connections
// that forward their destinations' subscriptions to their own peer (an
// XSUB writes SUBSCRIBE and CANCEL, as zmq_proxy does). The machine calls
// Subscribe on the connection's loop when a prefix is first held
// (on: true) or last released (false) by any destination of a fan-out
// group the connection feeds, over all loops; and once the session is
// established, with on: true for each prefix held then (a source that
// connects late, or reconnects, starts with the current set). A
// destination that filters nothing (no topics, not in_band, not a
// Subscriber) holds the empty prefix, which matches everything. Each
// prefix is reported once per change, in the order of the changes; it is
// valid during the call only. What Subscribe returns is control output
// (see Session).
type Upstream interface {
	Subscribe(prefix []byte, on bool, out []byte) []byte
}
