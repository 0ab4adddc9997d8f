package topology

import (
	"github.com/pxroute/pxroute/contract"
)

// merge: the whole messages of every from: go, interleaved, to one to:.
var mergePattern = patternSpec{
	name:          "merge",
	ends:          [numEnds]arity{endFrom: oneOrMore, endTo: exactlyOne},
	wholeMessages: "merge interleaves whole messages (framing: lines or length-prefix); raw chunks from several sources would mix",
	sourceWord:    "source",
	group:         "to",
	groupEnd:      endTo,
	fallback:      contract.PolicyBlock,
	emit:          emitToGroup,
}
