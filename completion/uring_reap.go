package completion

import (
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func (p *uringPort) Wait(dst []Completion, block bool) ([]Completion, error) {
	if p.closed {
		return dst, ErrClosed
	}
	start := len(dst)
	dst = append(dst, p.early...)
	p.early = p.early[:0]
	dst = append(dst, p.ready...)
	p.ready = p.ready[:0]
	now := time.Now()
	dst = p.timers.expire(dst, now)
	dst = p.reap(dst)
	var wait uint32
	var timeout *time.Duration
	if block && len(dst) == start {
		wait = 1
		if ms := p.timers.timeout(now); ms >= 0 {
			d := p.timers[0].when.Sub(now)
			timeout = &d
		}
	}
	if p.toSubmit > 0 || wait > 0 || atomic.LoadUint32(p.sqFlags)&(uringSQTaskrun|uringSQCQOverflow) != 0 || p.flags&uringSetupDeferTaskrun != 0 {
		if err := p.enter(wait, 0, timeout); err != nil {
			return dst, err
		}
	}
	dst = p.reap(dst)
	dst = p.timers.expire(dst, time.Now())
	return dst, nil
}

// reap turns completion queue entries into Completions.
func (p *uringPort) reap(dst []Completion) []Completion {
	head := *p.cqHead
	tail := atomic.LoadUint32(p.cqTail)
	for ; head != tail; head++ {
		cqe := p.cqes[head&p.cqMask]
		dst = p.complete(dst, cqe)
	}
	atomic.StoreUint32(p.cqHead, head)
	return dst
}

// result turns a CQE's res into a Completion for op: a count or an errno.
func result(op *uringOp, cqe uringCQE) Completion {
	c := Completion{Token: op.token, Kind: op.kind}
	if cqe.res < 0 {
		c.Err = syscall.Errno(-cqe.res)
	} else {
		c.N = int(cqe.res)
	}
	return c
}

// complete turns one CQE into what it reports: wake and cancel ops and
// cancelled ops report nothing; the rest go to their kind's handler.
func (p *uringPort) complete(dst []Completion, cqe uringCQE) []Completion {
	i := uint32(cqe.userData - 1)
	if cqe.userData == 0 || int(i) >= len(p.ops) || !p.ops[i].live {
		return dst
	}
	op := p.ops[i]
	more := cqe.flags&uringCQEFMore != 0
	var buf *Buf
	if cqe.flags&uringCQEFBuffer != 0 {
		buf = &p.pbufs[cqe.flags>>uringCQEBufferShift]
	}
	switch {
	case op.internal == opWake:
		p.freeOp(i)
		p.armWake()
		return dst
	case op.internal == opCancel:
		p.freeOp(i)
		return dst
	case op.multishot && !op.cancelled:
		return p.multishotResult(dst, i, cqe, buf)
	case op.cancelled:
		if buf != nil {
			p.pbufPut(int(buf.id))
		}
		if op.kind == KindAccept && cqe.res >= 0 {
			unix.Close(int(cqe.res))
		}
		if !more {
			p.freeOp(i)
		}
		return dst
	}
	switch op.kind {
	case KindSpliceIn, KindSpliceOut:
		return p.spliceResult(dst, i, cqe)
	case KindAccept:
		return p.acceptResult(dst, i, cqe)
	case KindRecv:
		return p.recvResult(dst, i, cqe, buf)
	case KindSend, KindConnect:
		return p.writeResult(dst, i, cqe)
	}
	// No other kind is submitted to the ring; report it as it came.
	if !more {
		p.freeOp(i)
	}
	return append(dst, result(op, cqe))
}
