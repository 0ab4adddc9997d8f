package contract

// Directed is implemented by framings whose protocol lets an endpoint
// carry messages one way only (a publisher's socket sends and never
// receives a message; its peers' subscriptions are control). The
// endpoint's Readable and Writable follow it, and the topology names why
// when it refuses a position.
type Directed interface {
	// Directions reports whether messages may be delivered to the
	// endpoint (sends: a destination) and read from it (receives: a
	// source), and what decides it, for error messages ("zmtp socket
	// pub").
	Directions() (sends, receives bool, why string)
}
