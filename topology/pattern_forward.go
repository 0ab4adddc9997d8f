package topology

import (
	"github.com/pxroute/pxroute/contract"
)

// forward: a bridge one way: each connection of from: gets its own
// connection of to:, which only receives.
var forwardPattern = patternSpec{
	name:       "forward",
	ends:       [numEnds]arity{endFrom: exactlyOne, endTo: exactlyOne},
	dials:      true,
	fallback:   contract.PolicyBlock,
	spliceFrom: true,
	emit:       emitToPeer,
}
