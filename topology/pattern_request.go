package topology

import (
	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/opcodes"
)

// request: balance with answers: each request goes to one worker of to:,
// and the worker's reply goes back to the client that asked.
var requestPattern = patternSpec{
	name:           "request",
	ends:           [numEnds]arity{endFrom: oneOrMore, endTo: oneOrMore},
	options:        []string{"pick"},
	wholeMessages:  "request/reply pairs each reply with its request, so both sides need whole messages (framing: lines or length-prefix)",
	sourceWord:     "client",
	sourcesReceive: true,
	group:          "workers",
	groupEnd:       endTo,
	workers:        true,
	workQueue:      true,
	fallback:       contract.PolicyBlock,
	emit:           emitRequest,
}

// emitRequest: a client's requests go to one worker; a worker's replies go
// to the requester, over the reply edge.
func emitRequest(c *compiler, s *readerSite, send *opcodes.Inst) opcodes.Inst {
	if s.worker {
		send.Mode, send.Arg, send.Alt = opcodes.ToRequester, 0, s.edges.reply
		return opcodes.Inst{Op: opcodes.OpClose, Pos: s.where}
	}
	emitToOne(c, s, send)
	// A requester that has finished asking still awaits its answers: its
	// write side is shut once they are all over (answered, lost with
	// their worker, timed out).
	return opcodes.Inst{Op: opcodes.OpShutdown, Mode: opcodes.ToSelf, Pos: s.rpos}
}
