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
	// Encode returns the bytes to write before and after a payload given
	// as slices written back to back (a message of several parts reaching
	// a framing of one part: its parts make one payload), without joining
	// them. hdr is scratch space of at least 8 bytes the result may use.
	Encode(hdr []byte, payload [][]byte) (head, tail []byte)
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

// Part is one part of a message: its bounds inside the message's wire
// bytes.
type Part struct{ Lo, Hi int }

// Multipart is implemented by framings whose messages have several parts
// (ZMTP's frames, NATS's subject and payload). A message is one or more
// parts; the machine carries them from input to output without joining
// them. Split and Encode still apply: Split gives the wire length and the
// first part's bounds, and Encode writes a payload as one part.
//
// A message of several parts that reaches a framing without Multipart is
// its parts back to back as one payload; a message of one part reaching a
// Multipart framing is one part.
type Multipart interface {
	// SplitParts is Split for every part: it returns the wire length of
	// the first whole message at the start of b (0: more bytes are
	// needed) and parts with each part's bounds appended, in order, at
	// least one. It refuses (an error) a message whose wire would exceed
	// max: max_frame bounds the whole message, parts and headers.
	SplitParts(b []byte, max int, parts []Part) (wire int, out []Part, err error)
	// EncodeParts appends to segs the segments that write payload, each
	// slice one part, as one message: a header per part where the framing
	// has one, the parts themselves unchanged (no copy). Headers are
	// written into hdr from its length on and the grown hdr is returned:
	// segments may point into it, so the caller keeps it unwritten until
	// they are queued.
	EncodeParts(hdr []byte, segs [][]byte, payload [][]byte) (hdrOut []byte, segsOut [][]byte)
}
