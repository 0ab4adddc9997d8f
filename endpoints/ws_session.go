package endpoints

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pxroute/pxroute/contract"
)

// wsSession is what a WebSocket connection's session does once upgraded,
// on either side: decode the peer's frames (Unseal), answer its control
// frames (Control), say close last (Close) and ping (Tick). The server's
// and the client's sessions embed it with their handshakes (ws_server.go,
// ws_client.go).
type wsSession struct {
	f    *wsFraming
	dec  wsDecoder
	open bool // upgraded: frames flow

	// closeSent: our close frame is out (no other frame may follow it);
	// failCode: the code a protocol error of the peer's calls for.
	closeSent bool
	failCode  uint16

	// mask is the client's: every frame it sends is masked (nil on a
	// server, whose frames never are).
	mask *wsMasker

	nextPing int64 // unix ns when the next ping is due; 0: not scheduled
	pingAt   int64 // unix ns of the first ping not yet followed by traffic
}

// Unseal decodes the peer's frames into canonical ones
// (contract.Opener). A protocol error is remembered so Close sends its
// code.
func (s *wsSession) Unseal(in, out []byte) ([]byte, error) {
	out, err := s.dec.decode(in, out)
	if err != nil {
		var we *wsError
		if errors.As(err, &we) && s.failCode == 0 {
			s.failCode = we.code
		}
	}
	return out, err
}

// Control takes the control frames among the messages: a ping is
// answered with a pong of its payload, a close with a close echoing its
// code, after which nothing more is read (contract.ErrReplied).
func (s *wsSession) Control(msg contract.Message, out []byte) (bool, []byte, error) {
	op := msg.Wire[0] & 0x0F
	if !wsControl(op) {
		return false, out, nil
	}
	p := msg.Wire[msg.Parts[0].Lo:msg.Parts[0].Hi]
	switch op {
	case wsOpPing:
		if !s.closeSent {
			out = s.appendFrame(out, wsOpPong, p)
		}
	case wsOpClose:
		var code uint16
		if len(p) >= 2 {
			code = binary.BigEndian.Uint16(p)
		}
		s.f.counts.closeReceived(code)
		if !s.closeSent {
			if code == 0 {
				code = wsCloseNormal
			}
			out = s.appendClose(out, code)
		}
		return true, out, contract.ErrReplied
	}
	return true, out, nil
}

// Close sends a close frame, unless one went: the code of the peer's
// protocol error if there was one, else 1000.
func (s *wsSession) Close(out []byte) []byte { return s.closeWith(out, wsCloseNormal) }

// Leave is Close when the router stops (contract.Leaver): 1001, going
// away, unless a protocol error has its own code.
func (s *wsSession) Leave(out []byte) []byte { return s.closeWith(out, wsCloseGoingAway) }

func (s *wsSession) closeWith(out []byte, code uint16) []byte {
	if !s.open || s.closeSent {
		return out
	}
	if s.failCode != 0 {
		code = s.failCode
	}
	return s.appendClose(out, code)
}

// appendClose appends our close frame with code, counted.
func (s *wsSession) appendClose(out []byte, code uint16) []byte {
	s.closeSent = true
	s.f.counts.closeSent(code)
	var p [2]byte
	binary.BigEndian.PutUint16(p[:], code)
	return s.appendFrame(out, wsOpClose, p[:])
}

// appendFrame appends one frame of ours: masked on a client.
func (s *wsSession) appendFrame(out []byte, op byte, payload []byte) []byte {
	if s.mask != nil {
		return s.mask.appendMasked(out, op, payload)
	}
	return append(appendWSHeader(out, op, len(payload)), payload...)
}

// Tick pings every ping_interval once upgraded, and fails a peer that
// sent nothing for two intervals after a ping (contract.Ticker). Any
// traffic is a sign of life, not only a pong.
func (s *wsSession) Tick(now, lastRead, _ int64, out []byte) ([]byte, error) {
	iv := int64(s.f.pingInterval)
	if !s.open || s.closeSent || iv == 0 {
		return out, nil
	}
	if s.pingAt != 0 && lastRead > s.pingAt {
		s.pingAt = 0
	}
	if s.pingAt != 0 && now-s.pingAt > 2*iv {
		s.f.counts.add(wsPingTimeout)
		s.failCode = wsCloseGoingAway
		return out, fmt.Errorf("websocket: nothing heard within %v of our ping", 2*s.f.pingInterval)
	}
	switch {
	case s.nextPing == 0:
		s.nextPing = now + iv
	case now >= s.nextPing:
		s.f.counts.add(wsPingsSent)
		out = s.appendFrame(out, wsOpPing, nil)
		if s.pingAt == 0 {
			s.pingAt = now
		}
		s.nextPing = now + iv
	}
	return out, nil
}

var (
	_ contract.Opener = (*wsSession)(nil)
	_ contract.Ticker = (*wsSession)(nil)
)
