package completion

import (
	"golang.org/x/sys/unix"
)

func (p *uringPort) SpliceIn(fd, pipeW, n int, token uint64) error {
	return p.startSplice(KindSpliceIn, fd, pipeW, n, token)
}

func (p *uringPort) SpliceOut(pipeR, fd, n int, token uint64) error {
	return p.startSplice(KindSpliceOut, fd, pipeR, n, token)
}

func (p *uringPort) startSplice(kind Kind, fd, pipe, n int, token uint64) error {
	i, err := p.claim(fd, kind, token)
	if err == nil {
		x := p.ops[i].ext()
		x.pipe, x.n = int32(pipe), int32(n)
		p.splice(i)
	}
	return err
}

// spliceSmall is the size under which a short splice from a socket is
// taken to have drained it (pollFirst). Bulk transfers move more per
// splice, and try again at once: their sockets seldom run dry.
const spliceSmall = 16 << 10

// splice moves op i's bytes. A regular file goes to IORING_OP_SPLICE (it
// may block, in the kernel's workers). A socket or pipe is spliced inline,
// non-blocking; on EAGAIN the op waits on a one-shot POLL_ADD and splices
// again when it fires, so no kernel worker ever blocks on a quiet peer. A
// splice-in from a socket marked pollFirst waits on the poll before trying.
func (p *uringPort) splice(i uint32) {
	op := p.ops[i]
	in, out := int(op.fd), int(op.io.pipe)
	if op.kind == KindSpliceOut {
		in, out = int(op.io.pipe), int(op.fd)
	}
	if p.fds.at(int(op.fd)).file {
		s := p.sqe()
		s.opcode, s.fd, s.spliceFDIn = uringOpSplice, int32(out), int32(in)
		s.off, s.addr = ^uint64(0), ^uint64(0) // both: the current position
		s.len, s.opFlags = uint32(op.io.n), unix.SPLICE_F_MOVE
		s.userData = uint64(i) + 1
		p.push()
		return
	}
	st := p.fds.at(int(op.fd))
	if op.kind != KindSpliceIn || !st.pollFirst {
		n, err := spliceNow(in, out, int(op.io.n))
		if err != unix.EAGAIN {
			if op.kind == KindSpliceIn {
				st.pollFirst = err == nil && n > 0 && n < spliceSmall && n < int(op.io.n)
			}
			p.finishSplice(i, Completion{Token: op.token, Kind: op.kind, N: n, Err: errno(err)})
			return
		}
	}
	if op.kind == KindSpliceIn {
		st.pollFirst = false // once: when the poll fires, splice at once
	}
	op.polling = true
	s := p.sqe()
	s.opcode, s.fd, s.userData = uringOpPollAdd, int32(op.fd), uint64(i)+1
	s.opFlags = unix.POLLIN
	if op.kind == KindSpliceOut {
		s.opFlags = unix.POLLOUT
	}
	p.push()
}

// spliceResult handles a splice op's CQE: its POLL_ADD fired (splice now)
// or IORING_OP_SPLICE finished.
func (p *uringPort) spliceResult(dst []Completion, i uint32, cqe uringCQE) []Completion {
	op := p.ops[i]
	if op.polling && cqe.res >= 0 {
		op.polling = false
		p.splice(i) // ready now: splice inline (or poll again)
		dst = append(dst, p.ready...)
		p.ready = p.ready[:0]
		return dst
	}
	p.finishSplice(i, result(op, cqe))
	dst = append(dst, p.ready...)
	p.ready = p.ready[:0]
	return dst
}

// finishSplice reports a splice and frees its op and side.
func (p *uringPort) finishSplice(i uint32, c Completion) {
	op := p.ops[i]
	st := p.fds.at(int(op.fd))
	if op.kind == KindSpliceOut {
		st.wr = 0
	} else {
		st.rd = 0
	}
	p.freeOp(i)
	p.ready = append(p.ready, c)
}
