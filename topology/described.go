package topology

import (
	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints"
)

// described is how a position error names an endpoint: what it is, and,
// when its framing decides which way messages may go (a protocol's socket
// type, contract.Directed), what decides it.
func described(ep endpoints.Endpoint) string {
	s := ep.String()
	if d, ok := ep.Settings().Framing.(contract.Directed); ok {
		_, _, why := d.Directions()
		s += ", " + why
	}
	return s
}
