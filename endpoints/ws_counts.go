package endpoints

import (
	"strconv"
	"sync/atomic"
)

// wsEvent is one of the protocol events a WebSocket endpoint counts
// (contract.Counted): the upgrade's outcomes, what its listener served,
// the client's handshakes and the heartbeat.
type wsEvent int

const (
	wsUpgrades        wsEvent = iota // 101 sent (listen) or accepted (connect)
	wsRefusedOrigin                  // 403
	wsRefusedPath                    // 404: an upgrade or a GET of another path
	wsRefusedVersion                 // 426: not version 13
	wsRefusedMethod                  // 405: not GET
	wsNotUpgrade                     // 426: a plain GET of the upgrade path
	wsBadRequest                     // 400
	wsHeaderTooLarge                 // 431
	wsPage                           // 200: the built-in page
	wsStatic                         // 200: a file of static:
	wsStaticTooLarge                 // 404: a file over max_frame
	wsHandshakeFailed                // connect: the server's answer was not a valid 101
	wsPingsSent                      // ping_interval's pings
	wsPingTimeout                    // closed: silent for two intervals after a ping
	wsEvents
)

var wsEventNames = [wsEvents]string{
	"upgrades", "refused_origin", "refused_path", "refused_version", "refused_method",
	"refused_not_upgrade", "bad_request", "header_too_large", "page", "static",
	"static_too_large", "handshake_failed", "pings_sent", "ping_timeout",
}

// wsCloseCodes are the close codes counted by number; another code (a
// received 3000-4999) counts as "other", a close without one as "none".
var wsCloseCodes = [...]uint16{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011}

const (
	wsCodeOther = len(wsCloseCodes)
	wsCodeNone  = len(wsCloseCodes) + 1
	wsCodeSlots = len(wsCloseCodes) + 2
)

// wsCounts are an endpoint's figures, shared by its sessions on every
// loop, so atomic.
type wsCounts struct {
	events   [wsEvents]atomic.Uint64
	sent     [wsCodeSlots]atomic.Uint64
	received [wsCodeSlots]atomic.Uint64
}

func (c *wsCounts) add(e wsEvent) { c.events[e].Add(1) }

// wsCodeSlot is where code counts; 0 (no code) is "none".
func wsCodeSlot(code uint16) int {
	if code == 0 {
		return wsCodeNone
	}
	for i, k := range wsCloseCodes {
		if k == code {
			return i
		}
	}
	return wsCodeOther
}

func (c *wsCounts) closeSent(code uint16)     { c.sent[wsCodeSlot(code)].Add(1) }
func (c *wsCounts) closeReceived(code uint16) { c.received[wsCodeSlot(code)].Add(1) }

// snapshot is every figure by its stable name, zeros included, so that a
// series exists before its first event.
func (c *wsCounts) snapshot() map[string]uint64 {
	m := make(map[string]uint64, int(wsEvents)+2*wsCodeSlots)
	for i := range c.events {
		m[wsEventNames[i]] = c.events[i].Load()
	}
	for i := range wsCodeSlots {
		name := "other"
		switch {
		case i < len(wsCloseCodes):
			name = strconv.Itoa(int(wsCloseCodes[i]))
		case i == wsCodeNone:
			name = "none"
		}
		m["close_received_"+name] = c.received[i].Load()
		if i != wsCodeNone {
			m["close_sent_"+name] = c.sent[i].Load()
		}
	}
	return m
}
