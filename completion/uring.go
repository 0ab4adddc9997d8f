package completion

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// uringEntries is the submission queue size of each loop's ring; the
// completion queue is four times larger, and the kernel keeps overflowing
// completions rather than dropping them (IORING_FEAT_NODROP).
const uringEntries = 1024

// uringBufs is how many BufSize buffers a ring provides for receives. They
// are lent per completion, so this bounds data in flight, not connections.
const uringBufs = 256

// uringPort is the completion backend on io_uring: operations are
// submitted, batched into one io_uring_enter per loop turn, and reported
// from the completion queue. Receives pick their buffer from a ring of
// provided buffers when data arrives, so an idle connection holds none.
type uringPort struct {
	fd       int
	features uint32
	flags    uint32

	sqRing, cqRing, sqeMem []byte
	sqHead, sqTail         *uint32
	sqMask, sqEntries      uint32
	sqFlags                *uint32
	sqes                   []uringSQE
	cqHead, cqTail         *uint32
	cqMask                 uint32
	cqes                   []uringCQE
	toSubmit               uint32

	ops     []*uringOp // pointers: an op's Pinner must not move
	freeOps []uint32
	fds     []uringFD
	timers  timerHeap
	ready   []Completion // finished without a CQE (inline splices, backlogged recvs)
	early   []Completion // reaped while making room in the submission queue
	bufs    bufPool

	// Provided buffers: ring entries and buffer memory, both off the Go
	// heap (mmap), so the kernel may write them at any time.
	pbufRing []byte
	pbufMem  []byte
	pbufTail uint16
	pbufs    []Buf
	starved  []int // fds whose recv found no buffer; resubmitted on Release

	wakefd  int
	wakeBuf []byte // 8 bytes of mmap'd memory the eventfd read fills

	multishotAccept bool
	multishotRecv   bool
	notesMu         sync.Mutex // Notes is read by Stats from other goroutines
	notes           []string
	closed          bool
}

// uringOp is one submitted operation: the kernel's user_data is its index+1.
// uringOp is one operation in flight. Every idle connection holds one (its
// multishot recv), so it is kept small: 32-bit descriptors and sizes.
type uringOp struct {
	token     uint64
	buf       *Buf // heap buffer of a recv without provided buffers
	pin       runtime.Pinner
	sa        *[unix.SizeofSockaddrAny]byte
	iovecs    []unix.Iovec
	fd        int32
	pipe, n   int32 // splice: the pipe end and the bytes to move
	kind      Kind
	internal  uint8 // opWake, opCancel: not reported
	cancelled bool
	live      bool
	polling   bool // splice: waiting on a POLL_ADD, then splicing inline
	multishot bool // a multishot recv: completions come until one lacks F_MORE
}

const (
	opWake   = 1
	opCancel = 2
)

// uringFD is what a port knows of one descriptor. The table holds one per
// descriptor number on every loop, so it is kept to 32 bytes.
type uringFD struct {
	known  bool // socket-ness looked up
	socket bool
	file   bool   // regular file, directory or block device: never ready-or-not
	want   bool   // the owner has a Recv outstanding...
	token  uint64 // ... with this token
	rd, wr uint32 // op index + 1 of the pending read-side and write-side op

	// Multishot recv (sockets): ms is its op index + 1 while armed. Results
	// that arrive while the owner has no Recv outstanding wait in backlog
	// (allocated on first use); a full backlog cancels the multishot, so a
	// reader that stopped asking leaves the bytes in the socket (TCP
	// back-pressure) and not in the ring's buffers.
	ms      uint32
	backlog *[]Completion
	// direct: the owner wants the socket's bytes left in it (ReadDirect),
	// so no multishot is armed again; msStop: one was asked to stop.
	direct, msStop bool
}

// early is the descriptor's backlog of receive results nobody asked for yet.
func (st *uringFD) early() []Completion {
	if st.backlog == nil {
		return nil
	}
	return *st.backlog
}

// msBacklog is how many early receive results one socket may hold.
const msBacklog = 2

// NewUring opens an io_uring completion port. It must be called on the
// thread that will use it (the ring is made SINGLE_ISSUER where the kernel
// allows). The error says why io_uring cannot be used here.
func NewUring() (Port, error) {
	// Setup registers with the ring; with SINGLE_ISSUER every call must come
	// from one thread, so do not migrate midway (nests with a Loop's lock).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p := &uringPort{fd: -1, wakefd: -1, bufs: bufPool{max: 64}}
	if err := p.setup(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// UringUnavailable reports why io_uring cannot be used here, or nil. It
// sets up and tears down a small ring.
func UringUnavailable() error {
	p, err := NewUring()
	if err != nil {
		return err
	}
	return p.Close()
}

func (p *uringPort) setup() error {
	// Try the most helpful flags first and drop what the kernel refuses.
	tries := []struct {
		flags uint32
		note  string
	}{
		{uringSetupSingleIssuer | uringSetupDeferTaskrun | uringSetupCoopTaskrun | uringSetupSubmitAll, ""},
		{uringSetupSingleIssuer | uringSetupCoopTaskrun | uringSetupSubmitAll, "DEFER_TASKRUN unsupported"},
		{uringSetupCoopTaskrun, "SINGLE_ISSUER unsupported"},
		{0, "COOP_TASKRUN unsupported"},
	}
	var params uringParams
	var err error
	for _, t := range tries {
		params = uringParams{flags: t.flags | uringSetupClamp | uringSetupCQSize, cqEntries: 4 * uringEntries}
		p.fd, err = uringSetup(uringEntries, &params)
		if err == nil {
			if t.note != "" {
				p.note(t.note)
			}
			break
		}
		if err != unix.EINVAL {
			break
		}
	}
	if err != nil {
		return uringSetupError(err)
	}
	p.features, p.flags = params.features, params.flags
	if p.features&uringFeatExtArg == 0 {
		return errors.New("io_uring: kernel lacks IORING_FEAT_EXT_ARG (Linux 5.11+)")
	}
	if p.features&uringFeatNoDrop == 0 {
		return errors.New("io_uring: kernel lacks IORING_FEAT_NODROP (Linux 5.5+)")
	}
	if err := p.mapRings(&params); err != nil {
		return err
	}
	if err := p.probe(); err != nil {
		return err
	}
	p.setupBufRing()
	p.multishotAccept = true                         // tried on first use; the kernel says EINVAL if not
	p.multishotRecv = p.pbufRing != nil              // needs provided buffers; EINVAL on first use turns it off
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

// uringSetupError explains why io_uring_setup failed.
func uringSetupError(err error) error {
	why := ""
	switch err {
	case unix.ENOSYS:
		why = "the kernel has no io_uring (too old, or built without it)"
	case unix.EPERM:
		why = "not permitted: io_uring is disabled by sysctl kernel.io_uring_disabled or blocked by seccomp (container default profiles block it)"
		if b, e := os.ReadFile("/proc/sys/kernel/io_uring_disabled"); e == nil {
			why += fmt.Sprintf("; io_uring_disabled=%s", strings.TrimSpace(string(b)))
		}
	case unix.ENOMEM:
		why = "no memory for the rings (RLIMIT_MEMLOCK on kernels before 5.12?)"
	default:
		why = err.Error()
	}
	return fmt.Errorf("io_uring_setup: %w (%s)", err, why)
}

func (p *uringPort) note(s string) {
	p.notesMu.Lock()
	p.notes = append(p.notes, s)
	p.notesMu.Unlock()
}

func (p *uringPort) mapRings(params *uringParams) error {
	sqSize := int(params.sqOff.array + params.sqEntries*4)
	cqSize := int(params.cqOff.cqes + params.cqEntries*uint32(unsafe.Sizeof(uringCQE{})))
	if p.features&uringFeatSingleMmap != 0 {
		sqSize = max(sqSize, cqSize)
	}
	var err error
	p.sqRing, err = unix.Mmap(p.fd, uringOffSQRing, sqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return os.NewSyscallError("mmap sq ring", err)
	}
	if p.features&uringFeatSingleMmap != 0 {
		p.cqRing = p.sqRing
	} else if p.cqRing, err = unix.Mmap(p.fd, uringOffCQRing, cqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return os.NewSyscallError("mmap cq ring", err)
	}
	sqeSize := int(params.sqEntries) * int(unsafe.Sizeof(uringSQE{}))
	if p.sqeMem, err = unix.Mmap(p.fd, uringOffSQEs, sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return os.NewSyscallError("mmap sqes", err)
	}
	u32 := func(b []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }
	p.sqHead, p.sqTail = u32(p.sqRing, params.sqOff.head), u32(p.sqRing, params.sqOff.tail)
	p.sqMask, p.sqEntries = *u32(p.sqRing, params.sqOff.ringMask), params.sqEntries
	p.sqFlags = u32(p.sqRing, params.sqOff.flags)
	array := unsafe.Slice(u32(p.sqRing, params.sqOff.array), params.sqEntries)
	for i := range array {
		array[i] = uint32(i) // SQE i always sits in slot i
	}
	p.sqes = unsafe.Slice((*uringSQE)(unsafe.Pointer(&p.sqeMem[0])), params.sqEntries)
	p.cqHead, p.cqTail = u32(p.cqRing, params.cqOff.head), u32(p.cqRing, params.cqOff.tail)
	p.cqMask = *u32(p.cqRing, params.cqOff.ringMask)
	p.cqes = unsafe.Slice((*uringCQE)(unsafe.Pointer(&p.cqRing[params.cqOff.cqes])), params.cqEntries)
	return nil
}

// probe checks that the kernel supports every opcode this backend needs.
func (p *uringPort) probe() error {
	var pr uringProbe
	if err := uringRegister(p.fd, uringRegisterProbe, unsafe.Pointer(&pr), 256); err != nil {
		return fmt.Errorf("io_uring: probing opcodes: %w", err)
	}
	var missing []string
	for _, op := range []uint8{uringOpAccept, uringOpRecv, uringOpSend, uringOpRead, uringOpWrite, uringOpWritev,
		uringOpConnect, uringOpAsyncCancel, uringOpPollAdd, uringOpSplice} {
		if op > pr.lastOp || pr.ops[op].flags&uringOpSupported == 0 {
			missing = append(missing, uringOpNames[op])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("io_uring: kernel lacks opcodes %v", missing)
	}
	return nil
}

// setupBufRing registers a ring of provided buffers (Linux 5.19+). Without
// one, each pending recv holds a pinned heap buffer instead.
func (p *uringPort) setupBufRing() {
	ringSize := uringBufs * 16
	ring, err := unix.Mmap(-1, 0, ringSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		p.note("recv: no provided-buffer ring (mmap: " + err.Error() + "); one buffer per pending recv")
		return
	}
	mem, err := unix.Mmap(-1, 0, uringBufs*BufSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		unix.Munmap(ring)
		p.note("recv: no provided-buffer ring (mmap: " + err.Error() + "); one buffer per pending recv")
		return
	}
	reg := uringBufReg{ringAddr: uint64(uintptr(unsafe.Pointer(&ring[0]))), ringEntries: uringBufs, bgid: 0}
	if err := uringRegister(p.fd, uringRegisterPbufRing, unsafe.Pointer(&reg), 1); err != nil {
		unix.Munmap(ring)
		unix.Munmap(mem)
		p.note("recv: no provided-buffer ring (" + err.Error() + ", Linux 5.19+); one buffer per pending recv")
		return
	}
	p.pbufRing, p.pbufMem = ring, mem
	p.pbufs = make([]Buf, uringBufs)
	for i := range p.pbufs {
		p.pbufs[i] = Buf{B: mem[i*BufSize : (i+1)*BufSize : (i+1)*BufSize], id: int32(i)}
		p.pbufPut(i)
	}
}

// pbufPut hands buffer id back to the kernel.
func (p *uringPort) pbufPut(id int) {
	e := unsafe.Pointer(&p.pbufRing[int(p.pbufTail&(uringBufs-1))*16])
	*(*uint64)(e) = uint64(uintptr(unsafe.Pointer(&p.pbufs[id].B[0])))
	*(*uint32)(unsafe.Add(e, 8)) = BufSize
	*(*uint16)(unsafe.Add(e, 12)) = uint16(id)
	p.pbufTail++
	// The tail is the u16 at byte 14, overlaying bufs[0].resv; publish it
	// with one atomic 32-bit store over bytes 12-15 that rewrites entry
	// 0's bid (bytes 12-13) unchanged.
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&p.pbufRing[12])),
		uint32(*(*uint16)(unsafe.Pointer(&p.pbufRing[12])))|uint32(p.pbufTail)<<16)
}

func (p *uringPort) Engine() string { return "io_uring" }

// Notes lists what this kernel made the port do without; safe from any
// goroutine.
func (p *uringPort) Notes() []string {
	p.notesMu.Lock()
	defer p.notesMu.Unlock()
	return append([]string(nil), p.notes...)
}

func (p *uringPort) state(fd int) *uringFD {
	if fd >= len(p.fds) {
		grown := make([]uringFD, max(2*len(p.fds), fd+1, 64))
		copy(grown, p.fds)
		p.fds = grown
	}
	s := &p.fds[fd]
	if !s.known {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil {
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFSOCK:
				s.socket = true
			case unix.S_IFREG, unix.S_IFDIR, unix.S_IFBLK:
				s.file = true
			}
		}
		s.known = true
	}
	return s
}

// newOp takes an op slot.
func (p *uringPort) newOp(kind Kind, fd int, token uint64) uint32 {
	var i uint32
	if n := len(p.freeOps); n > 0 {
		i = p.freeOps[n-1]
		p.freeOps = p.freeOps[:n-1]
	} else {
		p.ops = append(p.ops, new(uringOp))
		i = uint32(len(p.ops) - 1)
	}
	op := p.ops[i]
	op.kind, op.fd, op.token, op.live = kind, int32(fd), token, true
	return i
}

func (p *uringPort) freeOp(i uint32) {
	op := p.ops[i]
	op.pin.Unpin()
	if op.buf != nil {
		p.bufs.put(op.buf)
	}
	op.kind, op.internal, op.fd, op.token, op.cancelled, op.buf, op.live = 0, 0, -1, 0, false, nil, false
	op.pipe, op.n, op.polling, op.multishot = 0, 0, false, false
	clear(op.iovecs)
	op.iovecs = op.iovecs[:0]
	p.freeOps = append(p.freeOps, i)
}

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

// claim takes an op slot for fd's read side (accept, recv) or write side
// (send, connect), refusing a second pending op on the same side.
func (p *uringPort) claim(fd int, kind Kind, token uint64) (uint32, error) {
	if p.closed {
		return 0, ErrClosed
	}
	st := p.state(fd)
	side := &st.rd
	if kind == KindSend || kind == KindConnect || kind == KindSpliceOut {
		side = &st.wr
	}
	if *side != 0 {
		return 0, os.NewSyscallError("submit", unix.EBUSY)
	}
	i := p.newOp(kind, fd, token)
	*side = i + 1
	return i, nil
}

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

func (p *uringPort) Recv(fd int, token uint64) error {
	if p.closed {
		return ErrClosed
	}
	if st := p.state(fd); st.socket && p.multishotRecv && st.rd == 0 && (!st.direct || st.ms != 0 || len(st.early()) > 0) {
		if st.want {
			return os.NewSyscallError("submit", unix.EBUSY)
		}
		if q := st.early(); len(q) > 0 {
			c := q[0]
			copy(q, q[1:])
			*st.backlog = q[:len(q)-1]
			c.Token = token
			p.ready = append(p.ready, c)
			return nil
		}
		st.want, st.token = true, token
		if st.ms == 0 {
			p.armMultishot(fd)
		}
		return nil
	}
	i, err := p.claim(fd, KindRecv, token)
	if err == nil {
		p.submitRecv(i)
	}
	return err
}

// armMultishot submits one multishot recv on socket fd; its results are
// handed out by Recv.
func (p *uringPort) armMultishot(fd int) {
	st := &p.fds[fd]
	i := p.newOp(KindRecv, fd, 0)
	p.ops[i].multishot = true
	st.ms = i + 1
	s := p.sqe()
	s.opcode, s.fd, s.userData = uringOpRecv, int32(fd), uint64(i)+1
	s.ioprio = uringRecvMultishot
	s.flags, s.bufIndex = uringSQEBufferSelect, 0
	p.push()
}

// multishotResult files one result of fd's multishot recv: to the owner if
// it is asking, else to the backlog, which cancels the multishot when full.
func (p *uringPort) multishotResult(dst []Completion, i uint32, cqe uringCQE, buf *Buf) []Completion {
	fd := int(p.ops[i].fd)
	st := &p.fds[fd]
	more := cqe.flags&uringCQEFMore != 0
	if !more {
		st.ms, st.msStop = 0, false
		p.freeOp(i) // resets the op: use fd, not the op, from here on
	}
	c := Completion{Kind: KindRecv}
	switch {
	case cqe.res == -int32(unix.ECANCELED):
		// We stopped it (a full backlog, ReadDirect). An owner that asked
		// since gets a recv of its own.
		if st.want && !more {
			st.want = false
			if j, err := p.claim(fd, KindRecv, st.token); err == nil {
				p.submitRecv(j)
			}
		}
		return dst
	case cqe.res == -int32(unix.ENOBUFS):
		if st.want {
			p.starved = append(p.starved, fd) // Release arms it again
		}
		return dst
	case cqe.res == -int32(unix.EINVAL) && !more && buf == nil && st.want:
		// Multishot recv is Linux 6.0+: one recv per submission instead.
		p.multishotRecv = false
		p.note("recv: multishot unsupported; one recv per submission")
		st.want = false
		if j, err := p.claim(fd, KindRecv, st.token); err == nil {
			p.submitRecv(j)
		}
		return dst
	case cqe.res < 0:
		c.Err = syscall.Errno(-cqe.res)
	default:
		c.N = int(cqe.res)
		if buf != nil && c.N > 0 {
			c.Buf = buf
		} else if buf != nil {
			p.pbufPut(int(buf.id))
		}
	}
	if st.want {
		st.want = false
		c.Token = st.token
		return append(dst, c)
	}
	if st.backlog == nil {
		st.backlog = new([]Completion)
	}
	*st.backlog = append(*st.backlog, c)
	if len(*st.backlog) >= msBacklog && st.ms != 0 && more && !st.msStop {
		st.msStop = true
		p.cancelOp(st.ms)
	}
	return dst
}

// ReadDirect stops fd's multishot recv, if armed, and keeps it from being
// armed again until ReadDirect(fd, false); meanwhile Recv is one recv per
// submission.
func (p *uringPort) ReadDirect(fd int, on bool) bool {
	st := p.state(fd)
	st.direct = on
	if !on {
		return true
	}
	if st.ms != 0 && !st.msStop {
		st.msStop = true
		p.cancelOp(st.ms)
	}
	return st.ms == 0 && len(st.early()) == 0 && st.rd == 0
}

// cancelOp asks the kernel to cancel op slot (index + 1) by user_data.
func (p *uringPort) cancelOp(slot uint32) {
	c := p.newOp(0, -1, 0)
	p.ops[c].internal = opCancel
	s := p.sqe()
	s.opcode, s.fd = uringOpAsyncCancel, -1
	s.addr, s.userData = uint64(slot), uint64(c)+1
	p.push()
}

func (p *uringPort) submitRecv(i uint32) {
	op := p.ops[i]
	st := &p.fds[op.fd]
	s := p.sqe()
	s.fd, s.userData = int32(op.fd), uint64(i)+1
	s.opcode = uringOpRead
	s.off = ^uint64(0) // the file's current position; ignored by pipes and ttys
	if st.socket {
		s.opcode, s.off = uringOpRecv, 0
	}
	if p.pbufRing != nil {
		s.flags = uringSQEBufferSelect
		s.bufIndex = 0 // buffer group 0
		s.len = BufSize
	} else {
		op.buf = p.bufs.get()
		op.pin.Pin(&op.buf.B[0])
		s.addr, s.len = uint64(uintptr(unsafe.Pointer(&op.buf.B[0]))), uint32(len(op.buf.B))
	}
	p.push()
}

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

func (p *uringPort) SpliceIn(fd, pipeW, n int, token uint64) error {
	return p.startSplice(KindSpliceIn, fd, pipeW, n, token)
}

func (p *uringPort) SpliceOut(pipeR, fd, n int, token uint64) error {
	return p.startSplice(KindSpliceOut, fd, pipeR, n, token)
}

func (p *uringPort) startSplice(kind Kind, fd, pipe, n int, token uint64) error {
	i, err := p.claim(fd, kind, token)
	if err == nil {
		p.ops[i].pipe, p.ops[i].n = int32(pipe), int32(n)
		p.splice(i)
	}
	return err
}

// splice moves op i's bytes. A regular file goes to IORING_OP_SPLICE (it
// may block, in the kernel's workers). A socket or pipe is spliced inline,
// non-blocking; on EAGAIN the op waits on a one-shot POLL_ADD and splices
// again when it fires, so no kernel worker ever blocks on a quiet peer.
func (p *uringPort) splice(i uint32) {
	op := p.ops[i]
	in, out := int(op.fd), int(op.pipe)
	if op.kind == KindSpliceOut {
		in, out = int(op.pipe), int(op.fd)
	}
	if p.fds[op.fd].file {
		s := p.sqe()
		s.opcode, s.fd, s.spliceFDIn = uringOpSplice, int32(out), int32(in)
		s.off, s.addr = ^uint64(0), ^uint64(0) // both: the current position
		s.len, s.opFlags = uint32(op.n), unix.SPLICE_F_MOVE
		s.userData = uint64(i) + 1
		p.push()
		return
	}
	n, err := spliceNow(in, out, int(op.n))
	if err != unix.EAGAIN {
		p.finishSplice(i, Completion{Token: op.token, Kind: op.kind, N: n, Err: errno(err)})
		return
	}
	op.polling = true
	s := p.sqe()
	s.opcode, s.fd, s.userData = uringOpPollAdd, int32(op.fd), uint64(i)+1
	s.opFlags = unix.POLLIN
	if op.kind == KindSpliceOut {
		s.opFlags = unix.POLLOUT
	}
	p.push()
}

// finishSplice reports a splice and frees its op and side.
func (p *uringPort) finishSplice(i uint32, c Completion) {
	op := p.ops[i]
	st := &p.fds[op.fd]
	if op.kind == KindSpliceOut {
		st.wr = 0
	} else {
		st.rd = 0
	}
	p.freeOp(i)
	p.ready = append(p.ready, c)
}

func (p *uringPort) After(d time.Duration, token uint64) { p.timers.add(d, token) }

// Cancel drops fd's pending operations: their completions will be
// swallowed, and the kernel is asked to cancel them by user_data (not by
// fd: the caller closes fd now, and its number may be reused at once).
func (p *uringPort) Abort(fd int, token uint64) bool {
	if fd < 0 || fd >= len(p.fds) {
		return false
	}
	w := p.fds[fd].wr
	if w == 0 || p.ops[w-1].kind != KindSend || p.ops[w-1].token != token {
		p.Cancel(fd)
		return false
	}
	// The kernel may be writing it now: ask it to stop, but let its
	// completion through, with what it wrote.
	p.fds[fd].wr = 0
	p.Cancel(fd)
	p.cancelOp(w)
	return true
}

func (p *uringPort) Cancel(fd int) {
	if fd < 0 || fd >= len(p.fds) {
		return
	}
	st := &p.fds[fd]
	for _, slot := range []uint32{st.rd, st.wr, st.ms} {
		if slot == 0 {
			continue
		}
		p.ops[slot-1].cancelled = true
		p.cancelOp(slot)
	}
	for _, c := range st.early() {
		if c.Buf != nil {
			p.Release(c.Buf)
		}
	}
	for i, sfd := range p.starved {
		if sfd == fd {
			p.starved = append(p.starved[:i], p.starved[i+1:]...)
			break
		}
	}
	*st = uringFD{}
}

func (p *uringPort) Release(b *Buf) {
	if b == nil {
		return
	}
	if b.id < 0 {
		p.bufs.put(b)
		return
	}
	p.pbufPut(int(b.id))
	if len(p.starved) > 0 {
		// A recv that found the ring empty can go again now.
		fd := p.starved[0]
		p.starved = p.starved[1:]
		if fd < len(p.fds) {
			switch st := &p.fds[fd]; {
			case st.rd != 0:
				p.submitRecv(st.rd - 1)
			case st.want && st.ms == 0:
				p.armMultishot(fd)
			}
		}
	}
}

func (p *uringPort) Wake() error {
	var one = [8]byte{1}
	if _, err := unix.Write(p.wakefd, one[:]); err != nil {
		return os.NewSyscallError("write eventfd", err)
	}
	return nil
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

func (p *uringPort) Wait(dst []Completion, block bool) ([]Completion, error) {
	if p.closed {
		return dst, ErrClosed
	}
	start := len(dst)
	dst = append(dst, p.early...)
	p.early = p.early[:0]
	dst = append(dst, p.ready...)
	p.ready = p.ready[:0]
	now := time.Now()
	dst = p.timers.expire(dst, now)
	dst = p.reap(dst)
	var wait uint32
	var timeout *time.Duration
	if block && len(dst) == start {
		wait = 1
		if ms := p.timers.timeout(now); ms >= 0 {
			d := p.timers[0].when.Sub(now)
			timeout = &d
		}
	}
	if p.toSubmit > 0 || wait > 0 || atomic.LoadUint32(p.sqFlags)&(uringSQTaskrun|uringSQCQOverflow) != 0 || p.flags&uringSetupDeferTaskrun != 0 {
		if err := p.enter(wait, 0, timeout); err != nil {
			return dst, err
		}
	}
	dst = p.reap(dst)
	dst = p.timers.expire(dst, time.Now())
	return dst, nil
}

// reap turns completion queue entries into Completions.
func (p *uringPort) reap(dst []Completion) []Completion {
	head := *p.cqHead
	tail := atomic.LoadUint32(p.cqTail)
	for ; head != tail; head++ {
		cqe := p.cqes[head&p.cqMask]
		dst = p.complete(dst, cqe)
	}
	atomic.StoreUint32(p.cqHead, head)
	return dst
}

// result turns a CQE's res into a Completion for op: a count or an errno.
func result(op *uringOp, cqe uringCQE) Completion {
	c := Completion{Token: op.token, Kind: op.kind}
	if cqe.res < 0 {
		c.Err = syscall.Errno(-cqe.res)
	} else {
		c.N = int(cqe.res)
	}
	return c
}

func (p *uringPort) complete(dst []Completion, cqe uringCQE) []Completion {
	i := uint32(cqe.userData - 1)
	if cqe.userData == 0 || int(i) >= len(p.ops) || !p.ops[i].live {
		return dst
	}
	op := p.ops[i]
	more := cqe.flags&uringCQEFMore != 0
	var buf *Buf
	if cqe.flags&uringCQEFBuffer != 0 {
		buf = &p.pbufs[cqe.flags>>uringCQEBufferShift]
	}
	switch {
	case op.internal == opWake:
		p.freeOp(i)
		p.armWake()
		return dst
	case op.internal == opCancel:
		p.freeOp(i)
		return dst
	case op.multishot && !op.cancelled:
		return p.multishotResult(dst, i, cqe, buf)
	case op.cancelled:
		if buf != nil {
			p.pbufPut(int(buf.id))
		}
		if op.kind == KindAccept && cqe.res >= 0 {
			unix.Close(int(cqe.res))
		}
		if !more {
			p.freeOp(i)
		}
		return dst
	}
	if op.kind == KindSpliceIn || op.kind == KindSpliceOut {
		if op.polling && cqe.res >= 0 {
			op.polling = false
			p.splice(i) // ready now: splice inline (or poll again)
			dst = append(dst, p.ready...)
			p.ready = p.ready[:0]
			return dst
		}
		p.finishSplice(i, result(op, cqe))
		dst = append(dst, p.ready...)
		p.ready = p.ready[:0]
		return dst
	}
	c := result(op, cqe)
	st := &p.fds[op.fd]
	switch op.kind {
	case KindAccept:
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
	case KindRecv:
		if c.Err == unix.ENOBUFS {
			// Every provided buffer is lent out: go again on Release.
			p.starved = append(p.starved, int(op.fd))
			return dst
		}
		st.rd = 0
		switch {
		case buf != nil && c.N > 0 && c.Err == 0:
			c.Buf = buf
		case buf != nil:
			p.pbufPut(int(buf.id))
		case op.buf != nil && c.N > 0 && c.Err == 0:
			c.Buf = op.buf
			op.buf = nil
		}
	case KindSend, KindConnect:
		st.wr = 0
		if op.kind == KindConnect && c.Err == unix.EISCONN {
			c.Err = 0
		}
		if op.kind == KindConnect {
			c.N = 0
		}
	}
	if !more {
		p.freeOp(i)
	}
	return append(dst, c)
}

func (p *uringPort) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	for _, op := range p.ops {
		op.pin.Unpin()
	}
	var errs []error
	if p.fd >= 0 {
		errs = append(errs, unix.Close(p.fd)) // cancels what is still in flight
	}
	if p.wakefd >= 0 {
		errs = append(errs, unix.Close(p.wakefd))
	}
	for _, m := range [][]byte{p.sqeMem, p.cqRing, p.pbufRing, p.pbufMem} {
		if m != nil && (len(p.sqRing) == 0 || &m[0] != &p.sqRing[0]) {
			errs = append(errs, unix.Munmap(m))
		}
	}
	if p.sqRing != nil {
		errs = append(errs, unix.Munmap(p.sqRing))
	}
	if p.wakeBuf != nil {
		errs = append(errs, unix.Munmap(p.wakeBuf[:cap(p.wakeBuf)]))
	}
	return errors.Join(errs...)
}
