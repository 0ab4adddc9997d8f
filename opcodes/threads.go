package opcodes

import "fmt"

// thread is the kind of thread an instruction runs in.
type thread uint8

const (
	threadStart  thread = 1 << iota // accept, open: run once at start
	threadReader                    // a conn's reader and its error handler
	threadWriter                    // a conn's send-complete handler
)

var readerOps = map[Op]bool{
	OpHandle: true, OpJoin: true, OpDial: true, OpRecv: true, OpFrame: true, OpSend: true,
	OpDiscard: true, OpShutdown: true, OpError: true, OpClose: true, OpJump: true, OpHalt: true, OpSplice: true,
	OpSubscribe: true, OpName: true, OpAnnounce: true,
}

var writerOps = map[Op]bool{OpSent: true, OpDrained: true, OpJump: true, OpHalt: true, OpClose: true}

// idleEdges lists the successors of pc reached without progress: not after
// waiting for a completion (recv, splice), not after consuming a message
// (frame's Out), not by ending (close, halt). A loop made only of such
// edges would spin its loop thread forever.
func (p *Prog) idleEdges(pc uint32) []uint32 {
	in := p.Inst[pc]
	switch in.Op {
	case OpRecv, OpClose, OpHalt, OpAccept, OpOpen:
		return nil
	case OpFrame:
		return []uint32{in.Alt} // no whole message: nothing consumed
	case OpSplice:
		return []uint32{in.Arg} // cannot splice: falls back at once
	}
	return p.successors(pc)
}

// successors lists where control can go from pc within its own thread.
func (p *Prog) successors(pc uint32) []uint32 {
	in := p.Inst[pc]
	switch in.Op {
	case OpRecv, OpFrame:
		return []uint32{in.Out, in.Alt}
	case OpSplice:
		return []uint32{in.Out, in.Alt, in.Arg}
	case OpClose, OpHalt, OpAccept, OpOpen:
		return nil
	case OpHandle:
		return []uint32{in.Out, in.Arg} // Alt starts the writer thread
	}
	return []uint32{in.Out}
}

// verifyThreads checks that every reachable instruction runs in a thread
// that can execute it, and that no loop within a thread lacks an op that
// parks, consumes input or ends it. Call it after the range checks.
func (p *Prog) verifyThreads() []error {
	kind := make([]thread, len(p.Inst))
	var errs []error
	var work []uint32
	mark := func(pc uint32, t thread) {
		if kind[pc]&t == 0 {
			kind[pc] |= t
			work = append(work, pc)
		}
	}
	for _, pc := range p.Start {
		kind[pc] |= threadStart
		mark(p.Inst[pc].Out, threadReader)
	}
	for len(work) > 0 {
		pc := work[len(work)-1]
		work = work[:len(work)-1]
		in := p.Inst[pc]
		for t := threadReader; t <= threadWriter; t <<= 1 {
			if kind[pc]&t == 0 {
				continue
			}
			for _, next := range p.successors(pc) {
				mark(next, t)
			}
			if t == threadReader && in.Op == OpHandle {
				mark(in.Alt, threadWriter)
			}
			if t == threadReader && in.Op == OpDial {
				mark(in.Alt, threadReader) // the peer's program
			}
		}
	}
	for pc, k := range kind {
		op := p.Inst[pc].Op
		switch {
		case k&threadReader != 0 && !readerOps[op]:
			errs = append(errs, fmt.Errorf("verify: pc %d (%v): not an op a connection's reader runs", pc, op))
		case k&threadWriter != 0 && !writerOps[op]:
			errs = append(errs, fmt.Errorf("verify: pc %d (%v): not an op a send-complete handler runs", pc, op))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	// Loops: colour search over edges that make no progress.
	const (
		white = iota
		grey
		black
	)
	colour := make([]uint8, len(p.Inst))
	var visit func(pc uint32) bool
	visit = func(pc uint32) bool {
		colour[pc] = grey
		for _, next := range p.idleEdges(pc) {
			switch colour[next] {
			case grey:
				errs = append(errs, fmt.Errorf("verify: pc %d (%v): a loop through pc %d that never parks, consumes input or ends", pc, p.Inst[pc].Op, next))
				return false
			case white:
				if !visit(next) {
					return false
				}
			}
		}
		colour[pc] = black
		return true
	}
	for pc, k := range kind {
		if k&(threadReader|threadWriter) != 0 && colour[pc] == white {
			if !visit(uint32(pc)) {
				break
			}
		}
	}
	return errs
}
