package endpoints

import (
	"time"

	"github.com/pxroute/pxroute/contract"
)

// wsFraming is framing: websocket on one endpoint (RFC 6455). Its wire
// form, what Split reads and Encode writes, is the frame as a server
// sends it: FIN set, unmasked, never fragmented. Each connection's
// session turns its peer's frames into that form (masked, fragmented:
// ws_decode.go) and, on a client, masks what goes out (ws_client.go), so
// a fan-out encodes a message once for every WebSocket subscriber and
// websocket to websocket passes frames unchanged. Control frames (ping,
// pong, close) are messages the session takes (Control).
type wsFraming struct {
	binary bool // message: binary; else text

	// The listener's (ws_server.go): the upgrade path, the Origins
	// allowed (nil: the same host only; any: all), what a plain GET gets.
	path      string
	origins   map[string]bool
	anyOrigin bool
	page      bool
	static    string // a directory; "": none

	subprotocols []string // ours, in order of preference
	maxHeader    int      // max_header_bytes (the default: at most max_frame)
	maxHeaderSet bool
	pingInterval time.Duration
	maxFrame     int

	// The client's (connect: ws://host:port/path): Host and the
	// request target.
	host, target string

	counts wsCounts
}

// Defaults of framing websocket's keys.
const (
	DefaultWSMaxHeader     = 8 << 10
	DefaultWSHeaderTimeout = 10 * time.Second
)

func newWSFraming() *wsFraming {
	return &wsFraming{path: "/", maxHeader: DefaultWSMaxHeader, host: "localhost", target: "/", maxFrame: contract.DefaultMaxFrame}
}

func (f *wsFraming) Name() string {
	if f.binary {
		return "websocket/binary"
	}
	return "websocket"
}

func (*wsFraming) Boundaries() bool { return true }

// Split reads one canonical frame: a data frame's payload is the message;
// a control frame is a message too, which Control takes.
func (*wsFraming) Split(b []byte, max int) (int, int, int, error) {
	_, wire, start, err := splitWSCanonical(b, max)
	return wire, start, wire, err
}

// Encode writes a payload as one frame of the endpoint's message: type.
// A text frame must carry UTF-8 (a browser fails the connection on
// anything else), so a payload that is not goes as a binary frame. A
// header over 8 bytes (payloads over 64 KiB) is allocated.
func (f *wsFraming) Encode(hdr []byte, payload [][]byte) ([]byte, []byte) {
	op := byte(wsOpText)
	if f.binary || !wsValidUTF8(payload) {
		op = wsOpBinary
	}
	return appendWSHeader(hdr[:0], op, payloadLen(payload)), nil
}

// NewSession starts one connection's session: a server's on a listener,
// a client's otherwise (contract.Sessioned).
func (f *wsFraming) NewSession(role contract.Role) contract.Session {
	if role == contract.RoleListen {
		return &wsServerSession{wsSession: wsSession{f: f, dec: wsDecoder{masked: true, max: f.maxFrame}}}
	}
	return newWSClientSession(f)
}

// TickEvery is a quarter of ping_interval, so a ping goes out and a
// silent peer is seen within a quarter late; 0: no ticks
// (contract.Clocked).
func (f *wsFraming) TickEvery() time.Duration { return f.pingInterval / 4 }

// Counts are the endpoint's protocol events (contract.Counted).
func (f *wsFraming) Counts() map[string]uint64 { return f.counts.snapshot() }

// wsOf returns framing: websocket, or nil for another framing.
func wsOf(f contract.Framing) *wsFraming {
	w, _ := f.(*wsFraming)
	return w
}

var (
	_ contract.Framing   = (*wsFraming)(nil)
	_ contract.Sessioned = (*wsFraming)(nil)
	_ contract.Clocked   = (*wsFraming)(nil)
	_ contract.Counted   = (*wsFraming)(nil)
)
