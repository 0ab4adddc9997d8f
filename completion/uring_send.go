package completion

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

func (p *uringPort) Send(fd int, iov [][]byte, token uint64) error {
	i, err := p.claim(fd, KindSend, token)
	if err != nil {
		return err
	}
	op, st := p.ops[i], &p.fds[fd]
	s := p.sqe()
	s.fd, s.userData = int32(fd), uint64(i)+1
	var one []byte
	for _, b := range iov {
		if len(b) > 0 {
			op.pin.Pin(&b[0]) // the kernel reads it until the completion
			op.iovecs = append(op.iovecs, unix.Iovec{Base: &b[0], Len: uint64(len(b))})
			one = b
		}
	}
	switch {
	case len(op.iovecs) == 0:
		s.opcode, s.off = uringOpWrite, ^uint64(0)
	case len(op.iovecs) == 1 && st.socket:
		s.opcode = uringOpSend
		s.addr, s.len = uint64(uintptr(unsafe.Pointer(&one[0]))), uint32(len(one))
		s.opFlags = unix.MSG_NOSIGNAL
	case len(op.iovecs) == 1:
		s.opcode, s.off = uringOpWrite, ^uint64(0)
		s.addr, s.len = uint64(uintptr(unsafe.Pointer(&one[0]))), uint32(len(one))
	default:
		op.pin.Pin(&op.iovecs[0])
		s.opcode, s.off = uringOpWritev, ^uint64(0)
		s.addr, s.len = uint64(uintptr(unsafe.Pointer(&op.iovecs[0]))), uint32(len(op.iovecs))
	}
	p.push()
	return nil
}

func (p *uringPort) Connect(fd int, sa unix.Sockaddr, token uint64) error {
	i, err := p.claim(fd, KindConnect, token)
	if err != nil {
		return err
	}
	op := p.ops[i]
	if op.sa == nil {
		op.sa = new([unix.SizeofSockaddrAny]byte)
	}
	n, err := rawSockaddr(sa, op.sa)
	if err != nil {
		p.fds[fd].wr = 0
		p.freeOp(i)
		p.ready = append(p.ready, Completion{Token: token, Kind: KindConnect, Err: errno(err)})
		return nil
	}
	op.pin.Pin(op.sa)
	s := p.sqe()
	s.opcode, s.fd, s.userData = uringOpConnect, int32(fd), uint64(i)+1
	s.addr, s.off = uint64(uintptr(unsafe.Pointer(op.sa))), uint64(n)
	p.push()
	return nil
}

// writeResult reports the CQE of a send or connect.
func (p *uringPort) writeResult(dst []Completion, i uint32, cqe uringCQE) []Completion {
	op := p.ops[i]
	more := cqe.flags&uringCQEFMore != 0
	c := result(op, cqe)
	p.fds[op.fd].wr = 0
	if op.kind == KindConnect && c.Err == unix.EISCONN {
		c.Err = 0
	}
	if op.kind == KindConnect {
		c.N = 0
	}
	if !more {
		p.freeOp(i)
	}
	return append(dst, c)
}
