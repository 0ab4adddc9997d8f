package contract

// Gated is implemented by a framing that decides at delivery, from what
// it learns at run time, whether it can carry a message (NATS: the
// server's max_payload from its INFO; a subject taken from the first part
// that is no valid subject). The machine asks it for every message
// offered to a connection of its endpoint, before queueing: true refuses
// the message, counted in Drops as max_frame (the framing counts its
// precise reason among its own events, Counted). A Gated framing's
// destinations never take a source's wire bytes unchanged, even from a
// source of the same framing name: each message is encoded anew (NATS
// reads MSG and writes HPUB).
type Gated interface {
	// Refuses is given the message's payload size (all parts), its first
	// part and its number of parts. It is called on the connection's
	// loop; it must not block.
	Refuses(size int, first []byte, parts int) bool
}

// Lossy is implemented by a framing that learns of messages lost before
// they reached it (NATS: a gap in a publisher's sequence numbers). Losses
// is read from any goroutine; the counts are added to its endpoint's Lost
// by reason name.
type Lossy interface {
	Losses() map[string]uint64
}

// Addressed is implemented by a framing whose endpoint's connection goes
// to one of several servers (NATS): ConnectedTo names the server its
// connection is established with, "" while it has none. Read from any
// goroutine.
type Addressed interface {
	ConnectedTo() string
}
