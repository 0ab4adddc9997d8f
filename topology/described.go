package topology

import (
	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints"
)

// A framing may let its endpoint carry messages one way only
// (contract.Directed: a publisher's socket type only sends). Its
// connections are still read, for the protocol's own words (a handshake,
// subscriptions), so Readable stays true; only the positions it may take
// in routes narrow.

// asSource reports whether ep's messages may feed a route.
func asSource(ep endpoints.Endpoint) bool {
	if d, ok := ep.Settings().Framing.(contract.Directed); ok {
		if _, receives, _ := d.Directions(); !receives {
			return false
		}
	}
	return ep.Readable()
}

// asDestination reports whether a route may deliver to ep.
func asDestination(ep endpoints.Endpoint) bool {
	if d, ok := ep.Settings().Framing.(contract.Directed); ok {
		if sends, _, _ := d.Directions(); !sends {
			return false
		}
	}
	return ep.Writable()
}

// described is how a position error names an endpoint: what it is, and,
// when its framing decides which way messages may go, what decides it.
func described(ep endpoints.Endpoint) string {
	s := ep.String()
	if d, ok := ep.Settings().Framing.(contract.Directed); ok {
		_, _, why := d.Directions()
		s += ", " + why
	}
	return s
}
