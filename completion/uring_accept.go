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

// acceptResult reports one accepted connection (or an error) and keeps the
// listener armed.
func (p *uringPort) acceptResult(dst []Completion, i uint32, cqe uringCQE) []Completion {
	op := p.ops[i]
	more := cqe.flags&uringCQEFMore != 0
	c := result(op, cqe)
	st := p.fds.at(int(op.fd))
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
}
