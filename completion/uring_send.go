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
	op, st := p.ops[i], p.fds.at(fd)
	s := p.sqe()
	s.fd, s.userData = int32(fd), uint64(i)+1
	var one []byte
	many := false
	for _, b := range iov {
		if len(b) > 0 {
			many = one != nil
			one = b
			if many {
				break
			}
		}
	}
	switch {
	case one == nil:
		s.opcode, s.off = uringOpWrite, ^uint64(0)
	case !many:
		// One buffer needs no iovec (nor the slot's io part: most idle
		// connections' last send was of this kind).
		op.pin.Pin(&one[0]) // the kernel reads it until the completion
		s.addr, s.len = uint64(uintptr(unsafe.Pointer(&one[0]))), uint32(len(one))
		if st.socket {
			s.opcode, s.opFlags = uringOpSend, unix.MSG_NOSIGNAL
		} else {
			s.opcode, s.off = uringOpWrite, ^uint64(0)
		}
	default:
		x := op.ext()
		for _, b := range iov {
			if len(b) > 0 {
				op.pin.Pin(&b[0])
				x.iovecs = append(x.iovecs, unix.Iovec{Base: &b[0], Len: uint64(len(b))})
			}
		}
		op.pin.Pin(&x.iovecs[0])
		s.opcode, s.off = uringOpWritev, ^uint64(0)
		s.addr, s.len = uint64(uintptr(unsafe.Pointer(&x.iovecs[0]))), uint32(len(x.iovecs))
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
	x := op.ext()
	if x.sa == nil {
		x.sa = new([unix.SizeofSockaddrAny]byte)
	}
	n, err := rawSockaddr(sa, x.sa)
	if err != nil {
		p.fds.at(fd).wr = 0
		p.freeOp(i)
		p.ready = append(p.ready, Completion{Token: token, Kind: KindConnect, Err: errno(err)})
		return nil
	}
	op.pin.Pin(x.sa)
	s := p.sqe()
	s.opcode, s.fd, s.userData = uringOpConnect, int32(fd), uint64(i)+1
	s.addr, s.off = uint64(uintptr(unsafe.Pointer(x.sa))), uint64(n)
	p.push()
	return nil
}

// writeResult reports the CQE of a send or connect.
func (p *uringPort) writeResult(dst []Completion, i uint32, cqe uringCQE) []Completion {
	op := p.ops[i]
	more := cqe.flags&uringCQEFMore != 0
	c := result(op, cqe)
	p.fds.at(int(op.fd)).wr = 0
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
