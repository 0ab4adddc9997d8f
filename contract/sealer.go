package contract

// Sealer is implemented by a Session whose protocol, once its handshake
// is done, wraps every byte it carries (CurveZMQ: each ZMTP frame goes as
// an encrypted MESSAGE command). The machine then unseals input before the
// Framing sees it and seals the queue's messages before they are written,
// so the Framing, Control and the queue deal in plaintext as they do for
// any other session: messages stay whole, counted once, dropped whole.
//
// Control output is the session's own: what its hooks return once it is
// established must already be sealed (it knows its protocol's commands).
type Sealer interface {
	Opener
	// Seal appends the wire form of plain, which is whole messages as the
	// Framing encoded them, to out.
	Seal(plain, out []byte) ([]byte, error)
}

// Opener is implemented by a Session whose protocol's input must be
// decoded with the connection's own state before the Framing sees it
// (WebSocket: a client's masked, fragmented frames become whole unmasked
// ones), while its output needs no work per connection: it is written as
// the Framing encoded it, so one encoding serves every destination of a
// fan-out. A Sealer is an Opener whose output is sealed too.
type Opener interface {
	// Unseal takes all of in (wire bytes, in order) and appends the
	// plaintext they complete to out; a unit cut short at in's end is the
	// session's to keep (bounded by max_frame) until the rest arrives. An
	// error (a garbled, forged or replayed unit) closes the connection.
	Unseal(in, out []byte) ([]byte, error)
}

// SealUndoer is implemented by a Sealer whose Seal does more than
// transform bytes (NATS numbers each message as it seals it). When the
// batch Seal returned last is dropped before it was written whole (its
// connection was lost; its messages count as dropped, Drops disconnect),
// the machine calls UndoSeal, on the connection's loop, before the
// session is let go: what sealing those messages did is undone, so that
// they are counted once, as dropped.
type SealUndoer interface {
	UndoSeal()
}
