package completion

import (
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// msBacklog is how many early receive results one socket may hold.
const msBacklog = 2

func (p *uringPort) Recv(fd int, token uint64) error {
	if p.closed {
		return ErrClosed
	}
	if st := p.state(fd); st.socket && p.multishotRecv && st.rd == 0 && (!st.direct || st.ms != 0 || len(st.early()) > 0) {
		if st.want {
			return os.NewSyscallError("submit", unix.EBUSY)
		}
		if q := st.early(); len(q) > 0 {
			c := q[0]
			copy(q, q[1:])
			*st.backlog = q[:len(q)-1]
			c.Token = token
			p.ready = append(p.ready, c)
			return nil
		}
		st.want, st.token = true, token
		if st.ms == 0 {
			p.armMultishot(fd)
		}
		return nil
	}
	i, err := p.claim(fd, KindRecv, token)
	if err == nil {
		p.submitRecv(i)
	}
	return err
}

// armMultishot submits one multishot recv on socket fd; its results are
// handed out by Recv.
func (p *uringPort) armMultishot(fd int) {
	st := p.fds.at(fd)
	i := p.newOp(KindRecv, fd, 0)
	op := p.ops[i]
	op.multishot = true
	// It may stay in flight for the connection's life, pinning nothing
	// and sending nothing: it lets go of what the slot's earlier uses
	// kept for the next (a Pinner's store, a send's iovecs), which every
	// idle connection would otherwise hold.
	op.pin, op.io = runtime.Pinner{}, nil
	st.ms = i + 1
	s := p.sqe()
	s.opcode, s.fd, s.userData = uringOpRecv, int32(fd), uint64(i)+1
	s.ioprio = uringRecvMultishot
	s.flags, s.bufIndex = uringSQEBufferSelect, 0
	p.push()
}

// multishotResult files one result of fd's multishot recv: to the owner if
// it is asking, else to the backlog, which cancels the multishot when full.
func (p *uringPort) multishotResult(dst []Completion, i uint32, cqe uringCQE, buf *Buf) []Completion {
	fd := int(p.ops[i].fd)
	st := p.fds.at(fd)
	more := cqe.flags&uringCQEFMore != 0
	if !more {
		st.ms, st.msStop = 0, false
		p.freeOp(i) // resets the op: use fd, not the op, from here on
	}
	c := Completion{Kind: KindRecv}
	switch {
	case cqe.res == -int32(unix.ECANCELED):
		// We stopped it (a full backlog, ReadDirect). An owner that asked
		// since gets a recv of its own.
		if st.want && !more {
			st.want = false
			if j, err := p.claim(fd, KindRecv, st.token); err == nil {
				p.submitRecv(j)
			}
		}
		return dst
	case cqe.res == -int32(unix.ENOBUFS):
		if st.want {
			p.starved = append(p.starved, fd) // Release arms it again
		}
		return dst
	case cqe.res == -int32(unix.EINVAL) && !more && buf == nil && st.want:
		// Multishot recv is Linux 6.0+: one recv per submission instead.
		p.multishotRecv = false
		p.note("recv: multishot unsupported; one recv per submission")
		st.want = false
		if j, err := p.claim(fd, KindRecv, st.token); err == nil {
			p.submitRecv(j)
		}
		return dst
	case cqe.res < 0:
		c.Err = syscall.Errno(-cqe.res)
	default:
		c.N = int(cqe.res)
		if buf != nil && c.N > 0 {
			c.Buf = buf
		} else if buf != nil {
			p.pbufPut(int(buf.id))
		}
	}
	if st.want {
		st.want = false
		c.Token = st.token
		return append(dst, c)
	}
	if st.backlog == nil {
		st.backlog = new([]Completion)
	}
	*st.backlog = append(*st.backlog, c)
	if len(*st.backlog) >= msBacklog && st.ms != 0 && more && !st.msStop {
		st.msStop = true
		p.cancelOp(st.ms)
	}
	return dst
}

// recvResult reports the CQE of a one-shot recv, with the provided buffer
// it filled (buf) or its own heap buffer.
func (p *uringPort) recvResult(dst []Completion, i uint32, cqe uringCQE, buf *Buf) []Completion {
	op := p.ops[i]
	more := cqe.flags&uringCQEFMore != 0
	c := result(op, cqe)
	st := p.fds.at(int(op.fd))
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
	if !more {
		p.freeOp(i)
	}
	return append(dst, c)
}

// ReadDirect stops fd's multishot recv, if armed, and keeps it from being
// armed again until ReadDirect(fd, false); meanwhile Recv is one recv per
// submission.
func (p *uringPort) ReadDirect(fd int, on bool) bool {
	st := p.state(fd)
	st.direct = on
	if !on {
		return true
	}
	if st.ms != 0 && !st.msStop {
		st.msStop = true
		p.cancelOp(st.ms)
	}
	return st.ms == 0 && len(st.early()) == 0 && st.rd == 0
}

func (p *uringPort) submitRecv(i uint32) {
	op := p.ops[i]
	st := p.fds.at(int(op.fd))
	s := p.sqe()
	s.fd, s.userData = int32(op.fd), uint64(i)+1
	s.opcode = uringOpRead
	s.off = ^uint64(0) // the file's current position; ignored by pipes and ttys
	if st.socket {
		s.opcode, s.off = uringOpRecv, 0
	}
	if p.pbufRing != nil {
		s.flags = uringSQEBufferSelect
		s.bufIndex = 0 // buffer group 0
		s.len = BufSize
	} else {
		op.buf = p.bufs.get()
		op.pin.Pin(&op.buf.B[0])
		s.addr, s.len = uint64(uintptr(unsafe.Pointer(&op.buf.B[0]))), uint32(len(op.buf.B))
	}
	p.push()
}
