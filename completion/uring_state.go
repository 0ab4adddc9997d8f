package completion

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// uringOp is one operation in flight; the kernel's user_data is its index+1.
// Every idle connection holds one (its multishot recv), so it is kept small:
// 32-bit descriptors and sizes.
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
