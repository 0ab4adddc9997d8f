package completion

import (
	"golang.org/x/sys/unix"
)

func (p *uringPort) Accept(fd int, token uint64) error {
	i, err := p.claim(fd, KindAccept, token)
	if err == nil {
		p.submitAccept(i)
	}
	return err
}

func (p *uringPort) submitAccept(i uint32) {
	op := p.ops[i]
	s := p.sqe()
	s.opcode, s.fd = uringOpAccept, int32(op.fd)
	s.opFlags = unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
	if p.multishotAccept {
		s.ioprio = uringAcceptMultishot
	}
	s.userData = uint64(i) + 1
	p.push()
}
