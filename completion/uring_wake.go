package completion

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// setupWake opens the eventfd Wake writes to and arms the ring's read of it.
func (p *uringPort) setupWake() error {
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC) // blocking: the ring waits on it
	if err != nil {
		return os.NewSyscallError("eventfd", err)
	}
	p.wakefd = wakefd
	mem, err := unix.Mmap(-1, 0, os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return os.NewSyscallError("mmap", err)
	}
	p.wakeBuf = mem[:8]
	return p.armWake()
}

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
