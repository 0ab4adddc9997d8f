package opcodes

import (
	"fmt"
	"io"
	"strings"
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
	return nil
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
		return fmt.Sprintf("%s -> %d", p.name(p.Endpoints, in.Arg), in.Out)
	case OpDial:
		return fmt.Sprintf("%s peer %d -> %d", p.name(p.Endpoints, in.Arg), in.Alt, in.Out)
	case OpHandle:
		return fmt.Sprintf("error %d, sent %d -> %d", in.Arg, in.Alt, in.Out)
	case OpJoin:
		return fmt.Sprintf("%s -> %d", p.name(p.Groups, in.Arg), in.Out)
	case OpRecv:
		return fmt.Sprintf("-> %d, eof %d", in.Out, in.Alt)
	case OpSplice:
		return fmt.Sprintf("%v -> %d, eof %d, else %d", in.Mode, in.Out, in.Alt, in.Arg)
	case OpFrame:
		return fmt.Sprintf("-> %d, more %d", in.Out, in.Alt)
	case OpSend, OpShutdown:
		if in.Mode == ToGroup || in.Mode == ToOthers {
			return fmt.Sprintf("%v %s -> %d", in.Mode, p.name(p.Groups, in.Arg), in.Out)
		}
		return fmt.Sprintf("%v -> %d", in.Mode, in.Out)
	case OpDiscard, OpSent, OpDrained, OpError, OpJump:
		return fmt.Sprintf("-> %d", in.Out)
	}
	return ""
}
