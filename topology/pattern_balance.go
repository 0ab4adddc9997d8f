package topology

import (
	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/opcodes"
)

// balance: each whole message of from: goes to one worker of to:.
var balancePattern = patternSpec{
	name:          "balance",
	ends:          [numEnds]arity{endFrom: oneOrMore, endTo: oneOrMore},
	options:       []string{"pick"},
	wholeMessages: "balance hands out whole messages (framing: lines or length-prefix); raw chunks would split them between workers",
	sourceWord:    "producer",
	group:         "workers",
	groupEnd:      endTo,
	workQueue:     true,
	fallback:      contract.PolicyBlock,
	emit:          emitToOne,
}

// emitToOne sends each message to one worker of the route's group.
func emitToOne(c *compiler, s *readerSite, send *opcodes.Inst) opcodes.Inst {
	send.Mode, send.Arg = opcodes.ToOne, s.groups[0]-1
	return opcodes.Inst{Op: opcodes.OpClose, Pos: s.where}
}
