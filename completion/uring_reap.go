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
	if op.kind == KindSpliceIn || op.kind == KindSpliceOut {
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
	c := result(op, cqe)
	st := &p.fds[op.fd]
	switch op.kind {
	case KindAccept:
		if c.Err == unix.EINVAL && p.multishotAccept {
			// Multishot accept is Linux 5.19+: fall back to one at a time.
			p.multishotAccept = false
			p.note("accept: multishot unsupported; one accept per submission")
			p.submitAccept(i)
			return dst
		}
		if c.Err != 0 {
			if !more {
				st.rd = 0
				p.freeOp(i)
			}
			return append(dst, c)
		}
		if !more {
			p.submitAccept(i) // stays armed, as Accept promises
		}
		return append(dst, c)
	case KindRecv:
		if c.Err == unix.ENOBUFS {
			// Every provided buffer is lent out: go again on Release.
			p.starved = append(p.starved, int(op.fd))
			return dst
		}
		st.rd = 0
		switch {
		case buf != nil && c.N > 0 && c.Err == 0:
			c.Buf = buf
		case buf != nil:
			p.pbufPut(int(buf.id))
		case op.buf != nil && c.N > 0 && c.Err == 0:
			c.Buf = op.buf
			op.buf = nil
		}
	case KindSend, KindConnect:
		st.wr = 0
		if op.kind == KindConnect && c.Err == unix.EISCONN {
			c.Err = 0
		}
		if op.kind == KindConnect {
			c.N = 0
		}
	}
	if !more {
		p.freeOp(i)
	}
	return append(dst, c)
}
