package topology

import (
	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/opcodes"
)

// fanout: every message of from: goes to every connection of to:, or to
// those whose topic prefixes it matches.
var fanoutPattern = patternSpec{
	name:     "fanout",
	ends:     [numEnds]arity{endFrom: oneOrMore, endTo: oneOrMore},
	options:  []string{"topics", "in_band"},
	group:    "to",
	groupEnd: endTo,
	topics:   true,
	fallback: contract.PolicyDropNewest,
	emit:     emitToGroup,
}

// emitToGroup sends each message to every member of the route's group.
func emitToGroup(c *compiler, s *readerSite, send *opcodes.Inst) opcodes.Inst {
	send.Mode, send.Arg = opcodes.ToGroup, s.groups[0]-1
	return opcodes.Inst{Op: opcodes.OpClose, Pos: s.where}
}
