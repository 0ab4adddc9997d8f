package endpoints

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/pxroute/pxroute/contract"
)

// wsClientSession is a connect endpoint's connection: it sends the
// upgrade request, checks the server's 101, then masks every frame it
// sends (contract.Sealer) and decodes the server's, which must not be
// masked.
type wsClientSession struct {
	wsSession
	key     string // Sec-WebSocket-Key sent
	scanned int    // the reply's bytes known to hold no empty line
	masker  wsMasker
}

func newWSClientSession(f *wsFraming) *wsClientSession {
	s := &wsClientSession{wsSession: wsSession{f: f, dec: wsDecoder{max: f.maxFrame}}}
	s.mask = &s.masker
	return s
}

// Start sends the upgrade request: a random key, Host, no Origin (not a
// browser), our subprotocols.
func (s *wsClientSession) Start(out []byte) []byte {
	var k [16]byte
	rand.Read(k[:])
	s.key = base64.StdEncoding.EncodeToString(k[:])
	f := s.f
	out = append(out, "GET "...)
	out = append(out, f.target...)
	out = append(out, " HTTP/1.1\r\nHost: "...)
	out = append(out, f.host...)
	out = append(out, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "...)
	out = append(out, s.key...)
	if len(f.subprotocols) > 0 {
		out = append(out, "\r\nSec-WebSocket-Protocol: "...)
		out = append(out, strings.Join(f.subprotocols, ", ")...)
	}
	return append(out, "\r\n\r\n"...)
}

// Handshake reads the server's reply, bounded by max_header_bytes: a
// 101 with our key's accept value, or the connection fails (counted).
func (s *wsClientSession) Handshake(in, out []byte) (int, []byte, bool, error) {
	end, next := wsHeaderEnd(in, s.scanned)
	if end < 0 {
		s.scanned = next
		if len(in) > s.f.maxHeader {
			return 0, out, false, s.failed(fmt.Errorf("reply header over max_header_bytes (%d)", s.f.maxHeader))
		}
		return 0, out, false, nil
	}
	if end > s.f.maxHeader {
		return 0, out, false, s.failed(fmt.Errorf("reply header over max_header_bytes (%d)", s.f.maxHeader))
	}
	if err := s.checkReply(in[:end]); err != nil {
		return 0, out, false, s.failed(err)
	}
	s.open = true
	s.f.counts.add(wsUpgrades)
	return end, out, true, nil
}

func (s *wsClientSession) failed(err error) error {
	s.f.counts.add(wsHandshakeFailed)
	return fmt.Errorf("websocket upgrade refused: %w", err)
}

// checkReply checks the server's reply to our upgrade (4.2.2, 4.1).
func (s *wsClientSession) checkReply(b []byte) error {
	var scratch [16]wsHeader
	start, fields, ok := parseWSHeaderBlock(b, scratch[:0])
	if !ok {
		return errors.New("malformed HTTP reply")
	}
	status, _, _ := strings.Cut(strings.TrimPrefix(start, "HTTP/1.1 "), " ")
	if !strings.HasPrefix(start, "HTTP/1.1 ") || status != "101" {
		return fmt.Errorf("the server answered %q, not 101", quoteShort(start))
	}
	var upgrade, conn bool
	var accept, proto string
	for _, h := range fields {
		switch h.name {
		case "upgrade":
			upgrade = upgrade || wsHasToken(h.value, "websocket")
		case "connection":
			conn = conn || wsHasToken(h.value, "upgrade")
		case "sec-websocket-accept":
			accept = h.value
		case "sec-websocket-protocol":
			proto = h.value
		case "sec-websocket-extensions":
			return fmt.Errorf("the server chose extensions %q, none offered", h.value)
		}
	}
	switch {
	case !upgrade || !conn:
		return errors.New("101 without Upgrade: websocket and Connection: upgrade")
	case accept != wsAccept(s.key):
		return errors.New("Sec-WebSocket-Accept does not match our key")
	case proto != "" && !s.offered(proto):
		return fmt.Errorf("the server chose subprotocol %q, not offered", proto)
	}
	return nil
}

func (s *wsClientSession) offered(proto string) bool {
	for _, p := range s.f.subprotocols {
		if p == proto {
			return true
		}
	}
	return false
}

// Seal masks the batch's canonical frames, each with a fresh key
// (contract.Sealer).
func (s *wsClientSession) Seal(plain, out []byte) ([]byte, error) {
	for len(plain) > 0 {
		op, wire, start, err := splitWSCanonical(plain, len(plain))
		if err == nil && wire == 0 {
			err = errWSFrame // a batch holds whole frames
		}
		if err != nil {
			return out, err
		}
		out = s.masker.appendMasked(out, op, plain[start:wire])
		plain = plain[wire:]
	}
	return out, nil
}

// wsMasker masks a client's frames (5.3): each with a key unpredictable
// to the page scripts the rule guards against, drawn from crypto/rand a
// batch of keys at a time.
type wsMasker struct {
	keys [128]byte
	at   int // keys[at:] not used yet; 0 with a zero array: none drawn
}

// appendMasked appends one masked frame with FIN set.
func (m *wsMasker) appendMasked(out []byte, op byte, payload []byte) []byte {
	if m.at == 0 || m.at >= len(m.keys) {
		rand.Read(m.keys[:])
		m.at = 0
	}
	var key [4]byte
	copy(key[:], m.keys[m.at:m.at+4])
	m.at += 4
	at := len(out)
	out = appendWSHeader(out, op, len(payload))
	out[at+1] |= wsMask
	out = append(out, key[:]...)
	body := len(out)
	out = append(out, payload...)
	wsMaskBytes(out[body:], key, 0)
	return out
}

var _ contract.Sealer = (*wsClientSession)(nil)
