package completion

import (
	"os"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sqe returns the next submission slot, submitting what is queued if the
// ring is full.
func (p *uringPort) sqe() *uringSQE {
	for {
		head := atomic.LoadUint32(p.sqHead)
		tail := *p.sqTail
		if tail-head < p.sqEntries {
			s := &p.sqes[tail&p.sqMask]
			*s = uringSQE{}
			return s
		}
		p.enter(0, 0, nil)
		if atomic.LoadUint32(p.sqHead) == head {
			// Nothing was taken (EBUSY: completions must be reaped first).
			// Reap them into early, which Wait hands out first, so the
			// ring can take submissions again.
			p.early = p.reap(p.early)
		}
	}
}

// push publishes the SQE filled last.
func (p *uringPort) push() {
	atomic.StoreUint32(p.sqTail, *p.sqTail+1)
	p.toSubmit++
}

// enter submits what is queued and, with wait set, sleeps until a
// completion arrives or timeout passes (timeout < 0: no limit).
func (p *uringPort) enter(wait uint32, flags uint32, timeout *time.Duration) error {
	flags |= uringEnterGetEvents // DEFER_TASKRUN runs completions only here
	var arg uringGetEventsArg
	var ts unix.Timespec
	var argp unsafe.Pointer
	var argsz uintptr
	if timeout != nil {
		ts = unix.NsecToTimespec(int64(*timeout))
		arg.ts = uint64(uintptr(unsafe.Pointer(&ts)))
		argp, argsz = unsafe.Pointer(&arg), unsafe.Sizeof(arg)
		flags |= uringEnterExtArg
	}
	n, err := uringEnter(p.fd, p.toSubmit, wait, flags, argp, argsz)
	runtime.KeepAlive(&ts)
	if n > 0 {
		p.toSubmit -= uint32(min(uint32(n), p.toSubmit))
	}
	switch err {
	case nil, unix.ETIME, unix.EINTR:
		return nil
	case unix.EBUSY, unix.EAGAIN:
		// The completion queue must be reaped first; callers reap next.
		return nil
	}
	return os.NewSyscallError("io_uring_enter", err)
}
