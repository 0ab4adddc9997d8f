package completion

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

func (p *epollPort) Accept(fd int, token uint64) error {
	return p.submitRead(fd, pendingOp{kind: KindAccept, token: token})
}

func (p *epollPort) Recv(fd int, token uint64) error {
	return p.submitRead(fd, pendingOp{kind: KindRecv, token: token})
}

func (p *epollPort) submitRead(fd int, op pendingOp) error {
	if p.closed {
		return ErrClosed
	}
	s, err := p.register(fd)
	if err != nil {
		return err
	}
	if s.rd.kind != 0 {
		return os.NewSyscallError("submit", unix.EBUSY)
	}
	if s.file {
		job := fileJob{fd: fd, kind: op.kind, token: op.token, pipe: int(op.pipe), n: int(op.n)}
		if op.kind == KindRecv {
			job.buf = p.bufs.get()
		}
		fileWork(p, job)
		s.rd = pendingOp{kind: op.kind, token: op.token}
		return nil
	}
	s.rd = op
	if s.readable {
		p.tryRead(fd, s)
	}
	return nil
}

// writeSide registers fd and checks that no write-side op is pending.
func (p *epollPort) writeSide(fd int) (*fdState, error) {
	if p.closed {
		return nil, ErrClosed
	}
	s, err := p.register(fd)
	if err != nil {
		return nil, err
	}
	if s.wr.kind != 0 {
		return nil, os.NewSyscallError("submit", unix.EBUSY)
	}
	return s, nil
}

func (p *epollPort) Send(fd int, iov [][]byte, token uint64) error {
	s, err := p.writeSide(fd)
	if err != nil {
		return err
	}
	if s.file {
		s.wr = pendingOp{kind: KindSend, token: token}
		fileWork(p, fileJob{fd: fd, kind: KindSend, token: token, iov: iov})
		return nil
	}
	s.wr = pendingOp{kind: KindSend, token: token, iov: iov}
	if s.writable {
		p.tryWrite(fd, s)
	}
	return nil
}

func (p *epollPort) Connect(fd int, sa unix.Sockaddr, token uint64) error {
	s, err := p.writeSide(fd)
	if err != nil {
		return err
	}
	err = unix.Connect(fd, sa)
	switch err {
	case nil:
		p.ready = append(p.ready, Completion{Token: token, Kind: KindConnect})
	case unix.EINPROGRESS, unix.EINTR, unix.EAGAIN:
		s.wr = pendingOp{kind: KindConnect, token: token}
		s.writable = false
	default:
		p.ready = append(p.ready, Completion{Token: token, Kind: KindConnect, Err: errno(err)})
	}
	return nil
}

func (p *epollPort) SpliceIn(fd, pipeW, n int, token uint64) error {
	return p.submitRead(fd, pendingOp{kind: KindSpliceIn, token: token, pipe: int32(pipeW), n: int32(n)})
}

func (p *epollPort) SpliceOut(pipeR, fd, n int, token uint64) error {
	s, err := p.writeSide(fd)
	if err != nil {
		return err
	}
	s.wr = pendingOp{kind: KindSpliceOut, token: token, pipe: int32(pipeR), n: int32(n)}
	if s.file {
		fileWork(p, fileJob{fd: fd, kind: KindSpliceOut, token: token, pipe: pipeR, n: n})
		return nil
	}
	if s.writable {
		p.tryWrite(fd, s)
	}
	return nil
}

// ReadDirect: an epoll port reads only when asked, never ahead.
func (p *epollPort) ReadDirect(fd int, on bool) bool { return true }

func (p *epollPort) After(d time.Duration, token uint64) { p.timers.add(d, token) }

// Abort reports true when the send was written already and its completion
// waits to be handed out; one still waiting for room is dropped unwritten.
func (p *epollPort) Abort(fd int, token uint64) bool {
	p.Cancel(fd)
	for _, c := range p.ready {
		if c.Token == token && c.Kind == KindSend {
			return true
		}
	}
	return false
}

func (p *epollPort) Cancel(fd int) {
	s := p.fds.find(fd)
	if s == nil || !s.registered {
		return
	}
	if !s.file {
		// Errors mean the fd is already gone from the set; nothing to undo.
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	}
	// A worker may still finish a file job for this fd; its completion then
	// carries a token the owner no longer honours (see Loop docs).
	*s = fdState{}
}

func (p *epollPort) Release(b *Buf) { p.bufs.put(b) }

// Settle does nothing: Cancel takes effect at once (EPOLL_CTL_DEL).
func (p *epollPort) Settle() {}
