package completion

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

func (p *uringPort) armWake() error {
	i := p.newOp(0, p.wakefd, 0)
	p.ops[i].internal = opWake
	s := p.sqe()
	s.opcode, s.fd = uringOpRead, int32(p.wakefd)
	s.addr, s.len, s.off = uint64(uintptr(unsafe.Pointer(&p.wakeBuf[0]))), 8, ^uint64(0)
	s.userData = uint64(i) + 1
	p.push()
	return nil
}

func (p *uringPort) Wake() error {
	var one = [8]byte{1}
	if _, err := unix.Write(p.wakefd, one[:]); err != nil {
		return os.NewSyscallError("write eventfd", err)
	}
	return nil
}
