package opcodes

import (
	"errors"
	"fmt"
)

// Verify checks a program before it touches a descriptor: every jump
// target, endpoint, group and position index, every op and mode; then that
// each reachable instruction runs in a thread that can execute it (a start
// op, a connection's reader, or its send-complete handler) and that no loop
// in a thread goes round without parking, consuming input or ending. It
// returns all problems found.
func (p *Prog) Verify() error {
	var errs []error
	n := uint32(len(p.Inst))
	if n == 0 || p.Inst[0].Op != OpFail {
		return errors.New("verify: pc 0 must be fail")
	}
	bad := func(pc int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("verify: pc %d (%v): %s", pc, p.Inst[pc].Op, fmt.Sprintf(format, args...)))
	}
	target := func(pc int, name string, t uint32) bool {
		if t == 0 || t >= n {
			bad(pc, "%s target %d out of range [1,%d)", name, t, n)
			return false
		}
		return true
	}
	eps, groups := uint32(len(p.Endpoints)), uint32(len(p.Groups))
	for pc := 1; pc < len(p.Inst); pc++ {
		in := p.Inst[pc]
		if in.Pos >= uint32(len(p.Pos)) && in.Pos != 0 {
			bad(pc, "position %d out of range", in.Pos)
			continue
		}
		switch in.Op {
		case OpAccept, OpOpen, OpDial:
			if in.Arg >= eps {
				bad(pc, "endpoint %d out of range", in.Arg)
				continue
			}
			target(pc, "out", in.Out)
			if in.Op == OpDial {
				target(pc, "peer", in.Alt)
			}
		case OpHandle:
			if target(pc, "out", in.Out) && target(pc, "error", in.Arg) {
				target(pc, "sent", in.Alt)
			}
		case OpJoin:
			if in.Arg >= groups {
				bad(pc, "group %d out of range", in.Arg)
				continue
			}
			target(pc, "out", in.Out)
		case OpRecv, OpFrame:
			if target(pc, "out", in.Out) {
				target(pc, "alt", in.Alt)
			}
		case OpSend, OpShutdown:
			switch in.Mode {
			case ToPeer, ToSelf:
			case ToGroup, ToOthers:
				if in.Op == OpShutdown {
					bad(pc, "shutdown addresses peer or self, not %v", in.Mode)
					continue
				}
				if in.Arg >= groups {
					bad(pc, "group %d out of range", in.Arg)
					continue
				}
			default:
				bad(pc, "bad mode %v", in.Mode)
				continue
			}
			target(pc, "out", in.Out)
		case OpSplice:
			if in.Mode != ToPeer {
				bad(pc, "splice addresses the peer, not %v", in.Mode)
				continue
			}
			if target(pc, "out", in.Out) && target(pc, "eof", in.Alt) {
				target(pc, "fallback", in.Arg)
			}
		case OpDiscard, OpSent, OpDrained, OpError, OpJump:
			target(pc, "out", in.Out)
		case OpClose, OpHalt:
		default:
			bad(pc, "unknown op")
		}
	}
	for i, pc := range p.Start {
		if pc == 0 || pc >= n {
			errs = append(errs, fmt.Errorf("verify: start %d: pc %d out of range", i, pc))
			continue
		}
		if op := p.Inst[pc].Op; op != OpAccept && op != OpOpen {
			errs = append(errs, fmt.Errorf("verify: start %d: pc %d is %v, want accept or open", i, pc, op))
		}
	}
	if len(errs) == 0 {
		errs = p.verifyThreads()
	}
	return errors.Join(errs...)
}
