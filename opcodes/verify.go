package opcodes

import (
	"errors"
	"fmt"

	"github.com/pxroute/pxroute/contract"
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
	edge := func(pc int, e uint32) bool {
		if e >= uint32(len(p.Edges)) {
			bad(pc, "edge %d out of range", e)
			return false
		}
		return true
	}
	if len(p.Feeds) > len(p.Endpoints) {
		errs = append(errs, fmt.Errorf("verify: feeds for %d endpoints, program has %d", len(p.Feeds), len(p.Endpoints)))
	}
	for ep, gs := range p.Feeds {
		for _, g := range gs {
			if g >= groups {
				errs = append(errs, fmt.Errorf("verify: endpoint %d feeds group %d, out of range", ep, g))
			}
		}
	}
	if len(p.Pin) > 0 && len(p.Pin) != len(p.Endpoints) {
		errs = append(errs, fmt.Errorf("verify: %d pins for %d endpoints", len(p.Pin), len(p.Endpoints)))
	}
	for i, e := range p.Edges {
		if e.Policy >= contract.NumPolicies || e.Fallback >= contract.NumPolicies || e.HWM < 0 || e.HWMMsgs < 0 || e.Pick > PickLeastLoaded {
			errs = append(errs, fmt.Errorf("verify: edge %d: %+v out of range", i, e))
		}
	}
	errs = append(errs, p.verifyRoutes()...)
	for pc := 1; pc < len(p.Inst); pc++ {
		in := p.Inst[pc]
		if in.Pos >= uint32(len(p.Pos)) && in.Pos != 0 {
			bad(pc, "position %d out of range", in.Pos)
			continue
		}
		if !p.flagsFit(pc, in, bad) {
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
		case OpJoin, OpSubscribe, OpAnnounce:
			if in.Arg >= groups {
				bad(pc, "group %d out of range", in.Arg)
				continue
			}
			if in.Op == OpJoin && in.Alt > uint32(len(p.Topics)) {
				bad(pc, "topic set %d out of range", in.Alt)
				continue
			}
			if in.Op == OpAnnounce && !edge(pc, in.Alt) {
				continue
			}
			target(pc, "out", in.Out)
		case OpName:
			if in.Arg != NameFromAddress && in.Arg != NameFromMessage {
				bad(pc, "bad name source %d", in.Arg)
				continue
			}
			if in.Alt > groups {
				bad(pc, "group %d out of range", in.Alt-1)
				continue
			}
			target(pc, "out", in.Out)
		case OpRecv, OpFrame:
			if target(pc, "out", in.Out) {
				target(pc, "alt", in.Alt)
			}
		case OpSend, OpShutdown:
			if in.Op == OpSend && !edge(pc, in.Alt) {
				continue
			}
			switch in.Mode {
			case ToPeer, ToSelf, ToRequester:
				if in.Op == OpShutdown && in.Mode == ToRequester {
					bad(pc, "shutdown addresses peer or self, not %v", in.Mode)
					continue
				}
			case ToGroup, ToOthers, ToOne:
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
	if len(errs) == 0 {
		errs = p.verifyAtClose()
	}
	return errors.Join(errs...)
}

// flagsFit checks an instruction's flags: each on the op it is for, and
// run and cut on a frame whose Arg is the send at its Out, of the shape
// the flag promises.
func (p *Prog) flagsFit(pc int, in Inst, bad func(int, string, ...any)) bool {
	if in.Flags == 0 {
		return true
	}
	if in.Flags >= numFlags || in.Flags&FlagRun != 0 && in.Flags&FlagCut != 0 {
		bad(pc, "bad flags %08b", in.Flags)
		return false
	}
	switch {
	case in.Flags&atCloseFlags != 0:
		if in.Op != OpHandle || in.Flags&^atCloseFlags != 0 {
			bad(pc, "%v: at-close flags are for handle alone", in.Flags)
			return false
		}
		return true
	case in.Flags == FlagReconnect:
		if in.Op != OpOpen {
			bad(pc, "reconnect is for open")
			return false
		}
		return true
	case in.Op != OpFrame:
		bad(pc, "%v is for frame", in.Flags)
		return false
	case in.Arg != in.Out || in.Out == 0 || int(in.Out) >= len(p.Inst) || p.Inst[in.Out].Op != OpSend:
		bad(pc, "%v: arg %d is not the send at out %d", in.Flags, in.Arg, in.Out)
		return false
	}
	send := p.Inst[in.Out]
	if in.Flags == FlagRun && (send.Mode != ToGroup && send.Mode != ToOthers || send.Out != uint32(pc)) {
		bad(pc, "run: the send at %d must go to a group and back to this frame", in.Out)
		return false
	}
	if in.Flags == FlagCut {
		next := send.Out
		if send.Mode != ToPeer && send.Mode != ToSelf || next == 0 || int(next) >= len(p.Inst) || p.Inst[next].Op == OpSend {
			bad(pc, "cut: the send at %d must go to peer or self, with no send after it", in.Out)
			return false
		}
	}
	return true
}

// AtClose returns, for every handle (by pc; other pcs 0), what closing a
// conn whose program starts there entails, read from its reader thread:
// the groups it announced itself to hear it left (an announce op), its
// peer follows it out (a dial, or the handle is a dial's peer), its
// unanswered requests are counted (a send to one worker over an edge whose
// replies return, or a reply to the requester). The compiler writes it on
// the handles; Verify checks it. Each thread is walked once.
func (p *Prog) AtClose() []Flag {
	out := make([]Flag, len(p.Inst))
	for _, d := range p.Inst {
		if d.Op == OpDial && int(d.Alt) < len(out) {
			out[d.Alt] |= FlagPeer
		}
	}
	seen := make([]bool, len(p.Inst))
	var stack []uint32
	for pc, in := range p.Inst {
		if in.Op == OpHandle {
			out[pc] |= p.threadAtClose(uint32(pc), seen, stack[:0])
		} else {
			out[pc] = 0
		}
	}
	return out
}

// threadAtClose walks the reader thread from entry (seen is cleared for
// what it visits, so threads that share instructions each see them).
func (p *Prog) threadAtClose(entry uint32, seen []bool, stack []uint32) Flag {
	var f Flag
	var visited []uint32
	defer func() {
		for _, pc := range visited {
			seen[pc] = false
		}
	}()
	stack = append(stack, entry)
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if pc == 0 || int(pc) >= len(p.Inst) || seen[pc] {
			continue
		}
		seen[pc] = true
		visited = append(visited, pc)
		in := p.Inst[pc]
		switch {
		case in.Op == OpAnnounce:
			f |= FlagAnnounce
		case in.Op == OpDial:
			f |= FlagPeer
		case in.Op == OpSend && in.Mode == ToRequester:
			f |= FlagRequests
		case in.Op == OpSend && in.Mode == ToOne && int(in.Alt) < len(p.Edges) && p.Edges[in.Alt].Reply:
			f |= FlagRequests
		}
		stack = append(stack, p.successors(pc)...)
	}
	return f
}

// verifyAtClose checks that every handle's at-close flags are those its
// thread calls for (AtClose): closing must neither skip what the program
// set up (an announcement, a peer, requests) nor do what it did not.
func (p *Prog) verifyAtClose() []error {
	var errs []error
	want := p.AtClose()
	for pc, in := range p.Inst {
		if in.Op != OpHandle {
			continue
		}
		if want := want[pc]; in.Flags != want {
			errs = append(errs, fmt.Errorf("verify: pc %d (handle): at close %q, its thread calls for %q", pc, in.Flags, want))
		}
	}
	return errs
}
