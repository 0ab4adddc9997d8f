package topology

import (
	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/opcodes"
)

// bridge: each connection of from: gets its own connection of to:, and
// bytes go both ways between the two.
var bridgePattern = patternSpec{
	name:       "bridge",
	ends:       [numEnds]arity{endFrom: exactlyOne, endTo: exactlyOne},
	dials:      true,
	bothWays:   true,
	fallback:   contract.PolicyBlock,
	spliceFrom: true,
	splicePeer: true,
	emit:       emitToPeer,
}

// emitToPeer sends each message to the connection at the other end of the
// pipe; at end of input it shuts that one's write side.
func emitToPeer(c *compiler, s *readerSite, send *opcodes.Inst) opcodes.Inst {
	send.Mode = opcodes.ToPeer
	return opcodes.Inst{Op: opcodes.OpShutdown, Mode: opcodes.ToPeer, Pos: s.rpos}
}
