package completion

import (
	"os"
	"syscall"
	"time"
	"unsafe"

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
	fds     []fdState
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

// spliceNow moves up to n bytes from in to out without blocking (EAGAIN
// when it would), retrying on EINTR. Pages move rather than copy.
func spliceNow(in, out, n int) (int, error) {
	for {
		moved, err := unix.Splice(in, nil, out, nil, n, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		if err != unix.EINTR {
			return int(max(moved, 0)), err
		}
	}
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
	if fd >= len(p.fds) {
		n := max(2*len(p.fds), fd+1, 64)
		grown := make([]fdState, n)
		copy(grown, p.fds)
		p.fds = grown
	}
	return &p.fds[fd]
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

func (p *epollPort) Accept(fd int, token uint64) error {
	return p.submitRead(fd, pendingOp{kind: KindAccept, token: token})
}

func (p *epollPort) Recv(fd int, token uint64) error {
	return p.submitRead(fd, pendingOp{kind: KindRecv, token: token})
}

func (p *epollPort) submitRead(fd int, op pendingOp) error {
	if p.closed {
		return ErrClosed
	}
	s, err := p.register(fd)
	if err != nil {
		return err
	}
	if s.rd.kind != 0 {
		return os.NewSyscallError("submit", unix.EBUSY)
	}
	if s.file {
		job := fileJob{fd: fd, kind: op.kind, token: op.token, pipe: int(op.pipe), n: int(op.n)}
		if op.kind == KindRecv {
			job.buf = p.bufs.get()
		}
		fileWork(p, job)
		s.rd = pendingOp{kind: op.kind, token: op.token}
		return nil
	}
	s.rd = op
	if s.readable {
		p.tryRead(fd, s)
	}
	return nil
}

// writeSide registers fd and checks that no write-side op is pending.
func (p *epollPort) writeSide(fd int) (*fdState, error) {
	if p.closed {
		return nil, ErrClosed
	}
	s, err := p.register(fd)
	if err != nil {
		return nil, err
	}
	if s.wr.kind != 0 {
		return nil, os.NewSyscallError("submit", unix.EBUSY)
	}
	return s, nil
}

func (p *epollPort) Send(fd int, iov [][]byte, token uint64) error {
	s, err := p.writeSide(fd)
	if err != nil {
		return err
	}
	if s.file {
		s.wr = pendingOp{kind: KindSend, token: token}
		fileWork(p, fileJob{fd: fd, kind: KindSend, token: token, iov: iov})
		return nil
	}
	s.wr = pendingOp{kind: KindSend, token: token, iov: iov}
	if s.writable {
		p.tryWrite(fd, s)
	}
	return nil
}

func (p *epollPort) Connect(fd int, sa unix.Sockaddr, token uint64) error {
	s, err := p.writeSide(fd)
	if err != nil {
		return err
	}
	err = unix.Connect(fd, sa)
	switch err {
	case nil:
		p.ready = append(p.ready, Completion{Token: token, Kind: KindConnect})
	case unix.EINPROGRESS, unix.EINTR, unix.EAGAIN:
		s.wr = pendingOp{kind: KindConnect, token: token}
		s.writable = false
	default:
		p.ready = append(p.ready, Completion{Token: token, Kind: KindConnect, Err: errno(err)})
	}
	return nil
}

func (p *epollPort) SpliceIn(fd, pipeW, n int, token uint64) error {
	return p.submitRead(fd, pendingOp{kind: KindSpliceIn, token: token, pipe: int32(pipeW), n: int32(n)})
}

func (p *epollPort) SpliceOut(pipeR, fd, n int, token uint64) error {
	s, err := p.writeSide(fd)
	if err != nil {
		return err
	}
	s.wr = pendingOp{kind: KindSpliceOut, token: token, pipe: int32(pipeR), n: int32(n)}
	if s.file {
		fileWork(p, fileJob{fd: fd, kind: KindSpliceOut, token: token, pipe: pipeR, n: n})
		return nil
	}
	if s.writable {
		p.tryWrite(fd, s)
	}
	return nil
}

// ReadDirect: an epoll port reads only when asked, never ahead.
func (p *epollPort) ReadDirect(fd int, on bool) bool { return true }

func (p *epollPort) After(d time.Duration, token uint64) { p.timers.add(d, token) }

// Abort reports true when the send was written already and its completion
// waits to be handed out; one still waiting for room is dropped unwritten.
func (p *epollPort) Abort(fd int, token uint64) bool {
	p.Cancel(fd)
	for _, c := range p.ready {
		if c.Token == token && c.Kind == KindSend {
			return true
		}
	}
	return false
}

func (p *epollPort) Cancel(fd int) {
	if fd < 0 || fd >= len(p.fds) || !p.fds[fd].registered {
		return
	}
	if !p.fds[fd].file {
		// Errors mean the fd is already gone from the set; nothing to undo.
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	}
	// A worker may still finish a file job for this fd; its completion then
	// carries a token the owner no longer honours (see Loop docs).
	p.fds[fd] = fdState{}
}

func (p *epollPort) Release(b *Buf) { p.bufs.put(b) }

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
		if fd >= len(p.fds) || !p.fds[fd].registered {
			continue
		}
		s := &p.fds[fd]
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
	if d.fd >= len(p.fds) {
		return false
	}
	s := &p.fds[d.fd]
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

// Writev writes iov to fd with one writev(2) and no allocation: scratch holds
// the kernel iovec array between calls. Empty slices are skipped.
func Writev(fd int, iov [][]byte, scratch *[]unix.Iovec) (int, error) {
	v := (*scratch)[:0]
	for _, b := range iov {
		if len(b) == 0 {
			continue
		}
		if len(v) == 1024 { // IOV_MAX
			break
		}
		var e unix.Iovec
		e.Base = &b[0]
		e.SetLen(len(b))
		v = append(v, e)
	}
	*scratch = v
	if len(v) == 0 {
		return 0, nil
	}
	n, _, e := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&v[0])), uintptr(len(v)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
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
