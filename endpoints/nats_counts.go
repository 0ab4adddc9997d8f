package endpoints

import "sync/atomic"

// natsEvent is one of the protocol events a nats endpoint counts
// (contract.Counted).
type natsEvent int

const (
	natsConnects       natsEvent = iota // handshakes done (the server answered our PING)
	natsInfos                           // INFO received, the greeting's included
	natsPingsSent                       // our PINGs
	natsPongsReceived                   // PONGs to them
	natsPingsReceived                   // the server's PINGs (each answered)
	natsStale                           // closed: max_pings_out PINGs unanswered
	natsEcho                            // a message of ours come back: dropped
	natsBadParts                        // a Pxroute-Parts header that does not fit: dropped
	natsBadSubject                      // subject_part: a first part that is no subject: dropped
	natsOverMaxPayload                  // over the server's max_payload: dropped
	natsErrAuth                         // -ERR: authorization (the connection fails)
	natsErrPermissions                  // -ERR: permissions violation (it goes on)
	natsErrOther                        // any other -ERR (the connection fails)
	natsProtoErrors                     // the server broke the protocol (the connection fails)
	natsUnknownSid                      // a MSG or HMSG for a subscription we never made: dropped
	natsEvents
)

var natsEventNames = [natsEvents]string{
	"connects", "info", "pings_sent", "pongs_received", "pings_received", "stale",
	"echo", "bad_parts", "bad_subject", "max_payload", "err_auth", "err_permissions",
	"err_other", "protocol_errors", "unknown_sid",
}

// natsCounts are an endpoint's events, atomic: read from any goroutine.
type natsCounts struct{ events [natsEvents]atomic.Uint64 }

func (c *natsCounts) add(e natsEvent) { c.events[e].Add(1) }

// snapshot is every event by its stable name, zeros included.
func (c *natsCounts) snapshot() map[string]uint64 {
	m := make(map[string]uint64, natsEvents)
	for i := range c.events {
		m[natsEventNames[i]] = c.events[i].Load()
	}
	return m
}
