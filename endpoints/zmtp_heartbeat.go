package endpoints

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/pxroute/pxroute/contract"
)

// ZMTP 3.1 heartbeats (RFC 37, "Connection Heartbeating"), as libzmq's
// ZMQ_HEARTBEAT_IVL, _TIMEOUT and _TTL: with heartbeat_interval, a PING
// goes to a 3.1 peer every interval, carrying heartbeat_ttl; a peer that
// sends nothing at all (any traffic is a sign of life, not only a PONG)
// within heartbeat_timeout of the first PING not yet followed by traffic
// is closed. Whatever our keys, a peer's PING with a TTL makes us close
// the connection once the peer is silent for that long: it promised to
// speak. A 3.0 peer knows no PING and gets none.

// zmtpHeartbeat is an endpoint's heartbeat keys; zero: no PINGs of ours.
type zmtpHeartbeat struct {
	interval time.Duration // a PING every interval; 0: none
	timeout  time.Duration // silence after a PING that closes; the interval unless set
	ttl      time.Duration // sent in our PINGs, in deciseconds; 0: none
}

// zmtpPeerTTLTick is how often a session without heartbeats of its own
// is ticked to honour a peer's TTL: a close may come this much late
// (TTLs count in tenths of seconds), never early.
const zmtpPeerTTLTick = 250 * time.Millisecond

// tickEvery is how often a session on an endpoint with these keys needs
// a tick: a quarter of the shortest of interval and timeout, so a PING
// goes out and a timeout is seen within a quarter late.
func (h zmtpHeartbeat) tickEvery() time.Duration {
	if h.interval == 0 {
		return zmtpPeerTTLTick
	}
	return min(h.interval, h.timeout, 4*zmtpPeerTTLTick) / 4
}

// zmtpBeats is one session's heartbeat state.
type zmtpBeats struct {
	nextPing int64  // unix ns when the next PING is due; 0: not yet scheduled
	pingAt   int64  // unix ns of the first PING not yet followed by traffic; 0: none
	peerTTL  int64  // ns: the TTL of the peer's last PING; 0: none
	sent     uint32 // PINGs sent; each one's context is its number
}

// TickEvery says how often sessions need Tick (contract.Clocked).
func (f *zmtpFraming) TickEvery() time.Duration { return f.heartbeat.tickEvery() }

// Tick sends PINGs when due and closes a silent peer (contract.Ticker).
func (s *zmtpSession) Tick(now, lastRead, lastWrite int64, out []byte) ([]byte, error) {
	if s.state != zmtpEstablished {
		return out, nil
	}
	h, hb := &s.beats, s.f.heartbeat
	if h.pingAt != 0 && lastRead > h.pingAt {
		h.pingAt = 0 // heard from since: alive
	}
	switch {
	case h.pingAt != 0 && now-h.pingAt > int64(hb.timeout):
		return out, fmt.Errorf("heartbeat timeout: nothing heard within %v of our PING", hb.timeout)
	case h.peerTTL > 0 && now-lastRead > h.peerTTL:
		return out, fmt.Errorf("heartbeat TTL expired: nothing heard for %v, the TTL of the peer's PING", time.Duration(h.peerTTL))
	}
	if hb.interval == 0 || !s.peer.minor31() {
		return out, nil
	}
	switch {
	case h.nextPing == 0:
		h.nextPing = now + int64(hb.interval) // the first an interval after the handshake
	case now >= h.nextPing:
		out = s.appendPing(out)
		if h.pingAt == 0 {
			h.pingAt = now
		}
		h.nextPing = now + int64(hb.interval)
	}
	return out, nil
}

// appendPing appends a PING: our TTL in tenths of seconds and, as the
// context the PONG echoes, the PING's number.
func (s *zmtpSession) appendPing(out []byte) []byte {
	s.beats.sent++
	var ttl [2]byte
	var ctx [4]byte
	binary.BigEndian.PutUint16(ttl[:], uint16(s.f.heartbeat.ttl/(100*time.Millisecond)))
	binary.BigEndian.PutUint32(ctx[:], s.beats.sent)
	return appendZMTPCmd(out, "PING", ttl[:], ctx[:])
}

// peerPinged takes the TTL of a PING from the peer (tenths of seconds;
// 0 clears it).
func (s *zmtpSession) peerPinged(ttl uint16) {
	s.beats.peerTTL = int64(ttl) * int64(100*time.Millisecond)
}

var (
	_ contract.Ticker  = (*zmtpSession)(nil)
	_ contract.Clocked = (*zmtpFraming)(nil)
)
