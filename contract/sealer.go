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
	// Unseal takes all of in (wire bytes, in order) and appends the
	// plaintext they complete to out; a unit cut short at in's end is the
	// session's to keep (bounded by max_frame) until the rest arrives. An
	// error (a garbled, forged or replayed unit) closes the connection.
	Unseal(in, out []byte) ([]byte, error)
	// Seal appends the wire form of plain, which is whole messages as the
	// Framing encoded them, to out.
	Seal(plain, out []byte) ([]byte, error)
}
