package completion

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

func (p *epollPort) Wake() error {
	var one = [8]byte{1}
	_, err := unix.Write(p.wakefd, one[:])
	if err != nil && err != unix.EAGAIN {
		return os.NewSyscallError("write eventfd", err)
	}
	return nil
}

func (p *epollPort) Wait(dst []Completion, block bool) ([]Completion, error) {
	if p.closed {
		return dst, ErrClosed
	}
	start := len(dst)
	dst = p.reap(dst)
	now := time.Now()
	dst = p.timers.expire(dst, now)
	msec := 0
	if block && len(dst) == start {
		msec = p.timers.timeout(now)
	}
	n, err := unix.EpollWait(p.epfd, p.events, msec)
	if err != nil && err != unix.EINTR {
		return dst, os.NewSyscallError("epoll_wait", err)
	}
	for i := 0; i < n; i++ {
		ev := &p.events[i]
		fd := int(ev.Fd)
		if fd == p.wakefd {
			var b [8]byte
			_, _ = unix.Read(p.wakefd, b[:]) // EAGAIN: another reader got it
			continue
		}
		s := p.fds.find(fd)
		if s == nil || !s.registered {
			continue
		}
		if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			s.readable = true
			if s.rd.kind != 0 {
				p.tryRead(fd, s)
			}
		}
		if ev.Events&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			s.writable = true
			if s.wr.kind != 0 {
				p.tryWrite(fd, s)
			}
		}
	}
	if n > 0 || block {
		dst = p.timers.expire(dst, time.Now())
	}
	return p.reap(dst), nil
}

// reap moves finished operations (inline and from file workers) to dst.
func (p *epollPort) reap(dst []Completion) []Completion {
	dst = append(dst, p.ready...)
	p.ready = p.ready[:0]
	if !p.files.Empty() {
		p.drained = p.files.Drain(p.drained[:0])
		for i, v := range p.drained {
			done := v.(*fileDone)
			c := done.c
			if c.Buf != nil && (c.N == 0 || c.Err != 0) {
				p.bufs.put(c.Buf)
				c.Buf = nil
			}
			if p.settleFile(done) {
				dst = append(dst, c)
			} else if c.Buf != nil {
				p.bufs.put(c.Buf)
			}
			p.drained[i] = nil
		}
	}
	return dst
}

// settleFile clears the pending slot a worker result answers. It reports
// false when the operation was cancelled meanwhile (the fd closed, its number
// perhaps reused), so the result must be dropped.
func (p *epollPort) settleFile(d *fileDone) bool {
	s := p.fds.find(d.fd)
	if s == nil {
		return false
	}
	slot := &s.rd
	if d.c.Kind == KindSend || d.c.Kind == KindSpliceOut {
		slot = &s.wr
	}
	if !s.file || slot.kind != d.c.Kind || slot.token != d.c.Token {
		return false
	}
	*slot = pendingOp{}
	return true
}
