package topology

import (
	"github.com/pxroute/pxroute/contract"
	"strings"

	"github.com/pxroute/pxroute/opcodes"
)

// Pattern is a route's pattern. Each one is a unit: its rules (the ends it
// takes, its keys, what it needs of framings, its default overflow policy,
// whether it may splice) and its emitter live in its own pattern_NAME.go,
// as a patternSpec in the patterns table. Parse, Check and Compile ask the
// spec; none of them compares pattern names.
type Pattern uint8

// The patterns, in documentation order (Patterns lists their names so).
const (
	PatternNone Pattern = iota // no pattern: not a valid route
	PatternBridge
	PatternForward
	PatternFanout
	PatternRelay
	PatternEcho
	PatternBalance
	PatternMerge
	PatternRequest
	numPatterns
)

// patterns is the table of every pattern's spec, indexed by Pattern.
var patterns = [numPatterns]*patternSpec{
	PatternBridge:  &bridgePattern,
	PatternForward: &forwardPattern,
	PatternFanout:  &fanoutPattern,
	PatternRelay:   &relayPattern,
	PatternEcho:    &echoPattern,
	PatternBalance: &balancePattern,
	PatternMerge:   &mergePattern,
	PatternRequest: &requestPattern,
}

// end is one of a route's lists of endpoints that a pattern may take.
type end uint8

const (
	endFrom end = iota
	endTo
	endMembers
	numEnds
)

// endKeys are the route keys of the ends, indexed by end.
var endKeys = [numEnds]string{"from", "to", "members"}

// refs returns the endpoints rt names in e.
func (rt *Route) refs(e end) []Ref {
	switch e {
	case endFrom:
		return rt.From
	case endTo:
		return rt.To
	}
	return rt.Members
}

// arity is how many endpoints a pattern takes in one end: min 0 means the
// end is not taken at all; max -1 means no limit.
type arity struct{ min, max int }

var (
	exactlyOne = arity{1, 1}
	oneOrMore  = arity{1, -1}
)

// patternSpec is everything pxroute knows about one pattern.
type patternSpec struct {
	name string
	ends [numEnds]arity
	// options are the pattern-specific route keys it takes (pick,
	// topics, ...); every pattern takes pattern, its ends, tap and the
	// flow-control keys.
	options []string
	// wholeMessages says why its sources need message boundaries; ""
	// when raw chunks pass.
	wholeMessages string
	sourceWord    string // what its sources are called, with wholeMessages
	// sourcesReceive: its sources are answered or hear the others
	// (relay and echo members, request clients), so must be writable.
	sourcesReceive bool
	// dials: its to: side is opened afresh for each connection of from:
	// (a 1:1 pipe). bothWays: and what that side says goes back.
	dials, bothWays bool
	// group names the group its end groupEnd forms ("" : none): where its
	// sends go and whose back-pressure may reach its senders.
	group    string
	groupEnd end
	// workers answer: their messages go back to the requester that
	// asked, over a reply edge of their own.
	workers bool
	// topics: its destinations may filter by topic prefix.
	topics bool
	// workQueue: senders always wait for the workers (its group), so
	// its endpoints share a loop.
	workQueue bool
	// fallback is the overflow policy of its main edge when neither the
	// route nor the destination endpoint says one: block where one
	// destination's delay should reach the sender (1:1, work queues,
	// fan-in), drop-newest where one slow destination must not stall
	// the others.
	fallback contract.Policy
	// spliceFrom, splicePeer: a raw route without tap may move bytes by
	// splice from its from: side, from its dialled to: side.
	spliceFrom, splicePeer bool
	// prologue, when set, emits what each source runs before its first
	// message (see compiler.reader).
	prologue func(c *compiler, d *EndpointDecl, rt *Route) []uint32
	// emit fills in the send of each message a source reads (its Op,
	// Out, Alt and Pos are set) and returns what its end of input does.
	emit func(c *compiler, s *readerSite, send *opcodes.Inst) (eof opcodes.Inst)
}

// spec returns p's rules; nil for PatternNone or a value out of range.
func (p Pattern) spec() *patternSpec {
	if p >= numPatterns {
		return nil
	}
	return patterns[p]
}

// String is the pattern's name in a topology file.
func (p Pattern) String() string {
	if s := p.spec(); s != nil {
		return s.name
	}
	return "none"
}

// PatternByName returns the pattern a topology file calls name.
func PatternByName(name string) (Pattern, bool) {
	for p := PatternNone + 1; p < numPatterns; p++ {
		if patterns[p].name == name {
			return p, true
		}
	}
	return PatternNone, false
}

// Patterns lists the route patterns, in documentation order.
func Patterns() []string {
	out := make([]string, 0, numPatterns-1)
	for p := PatternNone + 1; p < numPatterns; p++ {
		out = append(out, patterns[p].name)
	}
	return out
}

// takes says whether the pattern takes endpoints in e.
func (s *patternSpec) takes(e end) bool { return s.ends[e].min > 0 }

// allows says whether the pattern takes the pattern-specific key.
func (s *patternSpec) allows(key string) bool { return oneOf(key, s.options) }

// destRole is how the pattern uses its to: endpoints.
func (s *patternSpec) destRole() string {
	switch {
	case s.dials:
		return "dial"
	case s.workers:
		return "worker"
	}
	return "destination"
}

// owners lists, in documentation order, the patterns for which has is
// true.
func owners(has func(*patternSpec) bool) []string {
	var out []string
	for p := PatternNone + 1; p < numPatterns; p++ {
		if has(patterns[p]) {
			out = append(out, patterns[p].name)
		}
	}
	return out
}

// endOwners is "a, b and c": the patterns that take e, for errors.
func endOwners(e end) string {
	names := owners(func(s *patternSpec) bool { return s.takes(e) })
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// optionOwners lists the patterns that take a pattern-specific key.
func optionOwners(key string) []string {
	return owners(func(s *patternSpec) bool { return s.allows(key) })
}

// optionKeys are the pattern-specific route keys, in routeKeys order.
var optionKeys = []string{"pick", "topics", "in_band", "names", "notices", "sanitize"}
