package completion

import (
	"syscall"

	"golang.org/x/sys/unix"
)

func (p *epollPort) tryRead(fd int, s *fdState) {
	op := s.rd
	switch op.kind {
	case KindAccept:
		for {
			nfd, _, err := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(fd), 0, 0,
				unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.EAGAIN:
				s.readable = false
				return
			case err != 0:
				s.rd = pendingOp{}
				p.ready = append(p.ready, Completion{Token: op.token, Kind: KindAccept, Err: err})
				return
			}
			// Stay armed and take the whole backlog: with edge
			// triggering, the next edge comes only after EAGAIN.
			p.ready = append(p.ready, Completion{Token: op.token, Kind: KindAccept, N: int(nfd)})
		}
	case KindSpliceIn:
		n, err := spliceNow(fd, int(op.pipe), int(op.n))
		if err == unix.EAGAIN {
			s.readable = false
			return
		}
		s.rd = pendingOp{}
		p.ready = append(p.ready, Completion{Token: op.token, Kind: KindSpliceIn, N: n, Err: errno(err)})
	case KindRecv:
		b := p.bufs.get()
		for {
			n, err := unix.Read(fd, b.B)
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.EAGAIN:
				s.readable = false
				p.bufs.put(b)
				return
			case err != nil:
				p.bufs.put(b)
				s.rd = pendingOp{}
				p.ready = append(p.ready, Completion{Token: op.token, Kind: KindRecv, Err: errno(err)})
				return
			}
			s.rd = pendingOp{}
			c := Completion{Token: op.token, Kind: KindRecv, N: n}
			if n > 0 {
				c.Buf = b
			} else {
				p.bufs.put(b)
			}
			p.ready = append(p.ready, c)
			return
		}
	}
}

func (p *epollPort) tryWrite(fd int, s *fdState) {
	op := s.wr
	switch op.kind {
	case KindConnect:
		s.wr = pendingOp{}
		v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil {
			err = syscall.Errno(v)
			if v == 0 {
				err = nil
			}
		}
		p.ready = append(p.ready, Completion{Token: op.token, Kind: KindConnect, Err: errno(err)})
	case KindSpliceOut:
		n, err := spliceNow(int(op.pipe), fd, int(op.n))
		if err == unix.EAGAIN {
			s.writable = false
			return
		}
		s.wr = pendingOp{}
		p.ready = append(p.ready, Completion{Token: op.token, Kind: KindSpliceOut, N: n, Err: errno(err)})
	case KindSend:
		for {
			n, err := p.writev(fd, op.iov)
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.EAGAIN:
				s.writable = false
				return
			}
			s.wr = pendingOp{}
			p.ready = append(p.ready, Completion{Token: op.token, Kind: KindSend, N: n, Err: errno(err)})
			return
		}
	}
}

// writev issues one writev(2) over iov, reusing the port's iovec array.
func (p *epollPort) writev(fd int, iov [][]byte) (int, error) {
	return Writev(fd, iov, &p.iovs)
}
