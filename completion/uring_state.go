package completion

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// uringOp is one operation in flight; the kernel's user_data is its index+1.
// Every idle connection holds one (its multishot recv), so it is kept to
// 48 bytes: what only sends, connects and splices use is in io.
type uringOp struct {
	token     uint64
	buf       *Buf // heap buffer of a recv without provided buffers
	pin       runtime.Pinner
	io        *uringOpIO // allocated by the slot's first send, connect or splice; kept with the slot
	fd        int32
	kind      Kind
	internal  uint8 // opWake, opCancel: not reported
	cancelled bool
	live      bool
	polling   bool // splice: waiting on a POLL_ADD, then splicing inline
	multishot bool // a multishot recv: completions come until one lacks F_MORE
}

// uringOpIO is the part of an op slot that sends, connects and splices use.
type uringOpIO struct {
	sa      *[unix.SizeofSockaddrAny]byte // connect: the address
	iovecs  []unix.Iovec                  // send
	pipe, n int32                         // splice: the pipe end and the bytes to move
}

// ext returns the op's send, connect and splice part, allocating it once.
func (op *uringOp) ext() *uringOpIO {
	if op.io == nil {
		op.io = new(uringOpIO)
	}
	return op.io
}

const (
	opWake   = 1
	opCancel = 2
)

// uringFD is what a port knows of one descriptor. Every loop's table holds
// one per descriptor number (fdTable), so it is kept to 40 bytes: the
// words first, then the flags.
type uringFD struct {
	token uint64 // the owner's outstanding Recv's token (want)

	// Multishot recv (sockets): ms is its op index + 1 while armed. Results
	// that arrive while the owner has no Recv outstanding wait in backlog
	// (allocated on first use); a full backlog cancels the multishot, so a
	// reader that stopped asking leaves the bytes in the socket (TCP
	// back-pressure) and not in the ring's buffers.
	backlog    *[]Completion
	rd, wr, ms uint32 // op index + 1 of the pending read-side, write-side and multishot op

	known  bool // socket-ness looked up
	socket bool
	file   bool // regular file, directory or block device: never ready-or-not
	want   bool // the owner has a Recv outstanding, with token
	// direct: the owner wants the socket's bytes left in it (ReadDirect),
	// so no multishot is armed again; msStop: one was asked to stop.
	direct, msStop bool
	// pollFirst: the last splice from this socket moved a small part of
	// what it asked for, so the socket was most likely drained then: the
	// next splice waits for POLLIN first rather than spend a syscall on
	// EAGAIN (a message-sized exchange's reads are all of this kind).
	pollFirst bool
}

// early is the descriptor's backlog of receive results nobody asked for yet.
func (st *uringFD) early() []Completion {
	if st.backlog == nil {
		return nil
	}
	return *st.backlog
}

func (p *uringPort) state(fd int) *uringFD {
	s := p.fds.at(fd)
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
	op.polling, op.multishot = false, false
	if x := op.io; x != nil {
		x.pipe, x.n = 0, 0
		clear(x.iovecs)
		x.iovecs = x.iovecs[:0]
	}
	p.freeOps = append(p.freeOps, i)
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
