package topology

import (
	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/opcodes"
)

// relay: every whole message of a member goes to every other member.
var relayPattern = patternSpec{
	name:           "relay",
	ends:           [numEnds]arity{endMembers: oneOrMore},
	options:        []string{"names", "notices", "sanitize"},
	wholeMessages:  "a relay needs whole messages (framing: lines or length-prefix) so senders never interleave",
	sourceWord:     "relay member",
	sourcesReceive: true,
	group:          "members",
	groupEnd:       endMembers,
	fallback:       contract.PolicyDropNewest,
	prologue:       relayPrologue,
	emit:           emitToOthers,
}

// NameSource is where a relay member's name comes from.
type NameSource uint8

const (
	NamesNone         NameSource = iota // members are not named (the default)
	NamesAddress                        // the member's address
	NamesFirstMessage                   // its first message: a nickname
	numNameSources
)

var nameSourceNames = [numNameSources]string{"none", "address", "first-message"}

// NameSources lists where relay member names come from.
func NameSources() []string { return append([]string(nil), nameSourceNames[:]...) }

// NameSourceByName returns the name source a topology file calls name.
func NameSourceByName(name string) (NameSource, bool) {
	for i, n := range nameSourceNames {
		if n == name {
			return NameSource(i), true
		}
	}
	return NamesNone, false
}

func (n NameSource) String() string {
	if n < numNameSources {
		return nameSourceNames[n]
	}
	return "unknown"
}

// emitToOthers sends each message to every other member; at end of input
// the member hangs up.
func emitToOthers(c *compiler, s *readerSite, send *opcodes.Inst) opcodes.Inst {
	send.Mode, send.Arg = opcodes.ToOthers, s.groups[0]-1
	return c.hangUp(s.d, s.where)
}

// relayPrologue emits what a relay member runs before its first message:
// take a name (its address, or its first message: a nickname) and tell the
// room. It returns the pcs emitted; the last one's Out is left for the
// caller.
func relayPrologue(c *compiler, d *EndpointDecl, rt *Route) []uint32 {
	where, rpos := c.at(d.Line, d.Col), c.at(rt.Line, rt.Col)
	var pcs []uint32
	emit := func(in opcodes.Inst) uint32 {
		in.Out = c.next()
		pc := c.emit(in)
		pcs = append(pcs, pc)
		return pc
	}
	switch rt.Names {
	case NamesFirstMessage:
		recv := emit(opcodes.Inst{Op: opcodes.OpRecv, Pos: where}) // Alt: eof, set by reader
		emit(opcodes.Inst{Op: opcodes.OpFrame, Alt: recv, Pos: where})
		emit(opcodes.Inst{Op: opcodes.OpName, Arg: opcodes.NameFromMessage, Alt: c.group[rt][0], Pos: rpos})
	case NamesAddress:
		emit(opcodes.Inst{Op: opcodes.OpName, Arg: opcodes.NameFromAddress, Alt: c.group[rt][0], Pos: rpos})
	}
	if rt.Notices {
		emit(opcodes.Inst{Op: opcodes.OpAnnounce, Arg: c.group[rt][0] - 1, Alt: c.edge[rt].main, Pos: rpos})
	}
	return pcs
}
