package topology

import (
	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/opcodes"
)

// echo: each member gets back what it sends.
var echoPattern = patternSpec{
	name:           "echo",
	ends:           [numEnds]arity{endMembers: oneOrMore},
	sourcesReceive: true,
	fallback:       contract.PolicyBlock,
	emit:           emitToSelf,
}

// emitToSelf sends each message back; at end of input it shuts the
// connection's write side once what it queued has gone.
func emitToSelf(c *compiler, s *readerSite, send *opcodes.Inst) opcodes.Inst {
	send.Mode = opcodes.ToSelf
	return opcodes.Inst{Op: opcodes.OpShutdown, Mode: opcodes.ToSelf, Pos: s.rpos}
}
