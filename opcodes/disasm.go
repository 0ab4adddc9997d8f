package opcodes

import (
	"fmt"
	"io"
	"strings"

	"github.com/pxroute/pxroute/contract"
)

// Disasm writes the program one instruction a line:
//
//	4  recv      -> 5, eof 9            ; chat.yaml:12:5
//
// A '*' after the pc marks a start thread. Endpoint and group operands are
// printed by name.
func (p *Prog) Disasm(w io.Writer) error {
	starts := make(map[uint32]bool, len(p.Start))
	for _, pc := range p.Start {
		starts[pc] = true
	}
	var b strings.Builder
	for pc, in := range p.Inst {
		b.Reset()
		mark := " "
		if starts[uint32(pc)] {
			mark = "*"
		}
		fmt.Fprintf(&b, "%4d%s %-9s %s", pc, mark, in.Op, p.operands(in))
		line := b.String()
		if in.Pos != 0 && int(in.Pos) < len(p.Pos) {
			line = fmt.Sprintf("%-44s ; %v", line, p.Pos[in.Pos])
		}
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " ")); err != nil {
			return err
		}
	}
	for i, e := range p.Edges {
		if _, err := fmt.Fprintf(w, "; edge %d: %v\n", i, e); err != nil {
			return err
		}
	}
	for i, t := range p.Topics {
		if _, err := fmt.Fprintf(w, "; topics %d: %q\n", i+1, t); err != nil {
			return err
		}
	}
	for ep, pin := range p.Pin {
		if pin >= 0 {
			if _, err := fmt.Fprintf(w, "; %s: pinned to loop set %d\n", p.name(p.Endpoints, uint32(ep)), pin); err != nil {
				return err
			}
		}
	}
	return nil
}

// String describes an edge for disassembly: "drop-newest, high_water
// endpoint's" and the like.
func (e Edge) String() string {
	var b strings.Builder
	if e.Policy == contract.PolicyDefault {
		fmt.Fprintf(&b, "overflow endpoint's else %v", e.Fallback)
	} else {
		fmt.Fprintf(&b, "overflow %v", e.Policy)
	}
	if e.HWM > 0 {
		fmt.Fprintf(&b, ", high_water %d", e.HWM)
	}
	if e.HWMMsgs > 0 {
		fmt.Fprintf(&b, ", high_water_msgs %d", e.HWMMsgs)
	}
	if e.Pick == PickLeastLoaded {
		b.WriteString(", least-loaded")
	}
	if e.Prefix {
		b.WriteString(", name prefix")
	}
	if e.Sanitize {
		b.WriteString(", sanitize")
	}
	if e.Reply {
		b.WriteString(", replies return")
	}
	return b.String()
}

func (p *Prog) name(list []string, i uint32) string {
	if int(i) < len(list) {
		return list[i]
	}
	return fmt.Sprintf("?%d", i)
}

func (p *Prog) operands(in Inst) string {
	switch in.Op {
	case OpAccept, OpOpen:
		if in.Flags != 0 {
			return fmt.Sprintf("%s %v -> %d", p.name(p.Endpoints, in.Arg), in.Flags, in.Out)
		}
		return fmt.Sprintf("%s -> %d", p.name(p.Endpoints, in.Arg), in.Out)
	case OpDial:
		return fmt.Sprintf("%s peer %d -> %d", p.name(p.Endpoints, in.Arg), in.Alt, in.Out)
	case OpHandle:
		if in.Flags != 0 {
			return fmt.Sprintf("error %d, sent %d, at close %v -> %d", in.Arg, in.Alt, in.Flags, in.Out)
		}
		return fmt.Sprintf("error %d, sent %d -> %d", in.Arg, in.Alt, in.Out)
	case OpJoin:
		if in.Alt > 0 {
			return fmt.Sprintf("%s topics %d -> %d", p.name(p.Groups, in.Arg), in.Alt, in.Out)
		}
		return fmt.Sprintf("%s -> %d", p.name(p.Groups, in.Arg), in.Out)
	case OpSubscribe:
		return fmt.Sprintf("%s -> %d", p.name(p.Groups, in.Arg), in.Out)
	case OpAnnounce:
		return fmt.Sprintf("%s edge %d -> %d", p.name(p.Groups, in.Arg), in.Alt, in.Out)
	case OpName:
		from := "address"
		if in.Arg == NameFromMessage {
			from = "message"
		}
		if in.Alt > 0 {
			return fmt.Sprintf("from %s, unique in %s -> %d", from, p.name(p.Groups, in.Alt-1), in.Out)
		}
		return fmt.Sprintf("from %s -> %d", from, in.Out)
	case OpRecv:
		return fmt.Sprintf("-> %d, eof %d", in.Out, in.Alt)
	case OpSplice:
		return fmt.Sprintf("%v -> %d, eof %d, else %d", in.Mode, in.Out, in.Alt, in.Arg)
	case OpFrame:
		if in.Flags != 0 {
			return fmt.Sprintf("%v -> %d, more %d", in.Flags, in.Out, in.Alt)
		}
		return fmt.Sprintf("-> %d, more %d", in.Out, in.Alt)
	case OpSend, OpShutdown:
		edge := ""
		if in.Op == OpSend {
			edge = fmt.Sprintf(" edge %d", in.Alt)
		}
		switch in.Mode {
		case ToGroup, ToOthers, ToOne:
			return fmt.Sprintf("%v %s%s -> %d", in.Mode, p.name(p.Groups, in.Arg), edge, in.Out)
		}
		return fmt.Sprintf("%v%s -> %d", in.Mode, edge, in.Out)
	case OpDiscard, OpSent, OpDrained, OpError, OpJump:
		return fmt.Sprintf("-> %d", in.Out)
	}
	return ""
}
