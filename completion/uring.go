package completion

import (
	"errors"
	"runtime"
	"sync"
	"time"

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
	fds     fdTable[uringFD]
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

func (p *uringPort) note(s string) {
	p.notesMu.Lock()
	p.notes = append(p.notes, s)
	p.notesMu.Unlock()
}

func (p *uringPort) Engine() string { return "io_uring" }

// Notes lists what this kernel made the port do without; safe from any
// goroutine.
func (p *uringPort) Notes() []string {
	p.notesMu.Lock()
	defer p.notesMu.Unlock()
	return append([]string(nil), p.notes...)
}

func (p *uringPort) After(d time.Duration, token uint64) { p.timers.add(d, token) }

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
