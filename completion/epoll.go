package completion

import (
	"os"

	"golang.org/x/sys/unix"
)

// epollPort is the readiness backend. Every descriptor is registered once,
// edge-triggered for both directions; the port remembers the last readiness
// it saw and performs a submitted operation at once when the descriptor is
// believed ready, or when the next edge arrives. An operation that finishes
// at submission is still reported through Wait, never from the submit call.
type epollPort struct {
	epfd    int
	wakefd  int
	fds     fdTable[fdState]
	ready   []Completion // finished at submission or on an edge, not yet reaped
	events  []unix.EpollEvent
	timers  timerHeap
	bufs    bufPool
	iovs    []unix.Iovec
	files   *Inbox // completions from the file worker pool
	drained []any
	closed  bool
}

type fdState struct {
	registered bool
	file       bool // not pollable: served by the worker pool
	readable   bool
	writable   bool
	rd         pendingOp // accept or recv
	wr         pendingOp // send or connect
}

type pendingOp struct {
	token uint64
	iov   [][]byte
	pipe  int32 // splice: the pipe end
	n     int32 // splice: bytes to move (at most a pipe's capacity)
	kind  Kind
}

// NewEpoll opens an epoll completion port.
func NewEpoll() (Port, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wakefd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return &epollPort{
		epfd:   epfd,
		wakefd: wakefd,
		events: make([]unix.EpollEvent, 256),
		bufs:   bufPool{max: 64},
		files:  new(Inbox),
	}, nil
}

func (p *epollPort) Engine() string { return "epoll" }

func (p *epollPort) state(fd int) *fdState {
	return p.fds.at(fd)
}

// register adds fd to the epoll set on first use. Descriptors epoll refuses
// (regular files and directories: EPERM) are marked for the worker pool.
func (p *epollPort) register(fd int) (*fdState, error) {
	s := p.state(fd)
	if s.registered {
		return s, nil
	}
	ev := unix.EpollEvent{
		Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET,
		Fd:     int32(fd),
	}
	err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
	switch err {
	case nil:
	case unix.EPERM:
		s.file = true
	default:
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	// Readiness is unknown until tried: attempt first, wait on EAGAIN.
	*s = fdState{registered: true, file: s.file, readable: true, writable: true}
	return s, nil
}

func (p *epollPort) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	err1 := unix.Close(p.epfd)
	err2 := unix.Close(p.wakefd)
	if err1 != nil {
		return os.NewSyscallError("close", err1)
	}
	if err2 != nil {
		return os.NewSyscallError("close", err2)
	}
	return nil
}
