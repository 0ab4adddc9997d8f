package contract

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
