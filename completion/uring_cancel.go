package completion

// cancelOp asks the kernel to cancel op slot (index + 1) by user_data.
func (p *uringPort) cancelOp(slot uint32) {
	c := p.newOp(0, -1, 0)
	p.ops[c].internal = opCancel
	s := p.sqe()
	s.opcode, s.fd = uringOpAsyncCancel, -1
	s.addr, s.userData = uint64(slot), uint64(c)+1
	p.push()
}

// Abort is Cancel, except that the send submitted with token, if pending,
// is cancelled without swallowing its completion.
func (p *uringPort) Abort(fd int, token uint64) bool {
	st := p.fds.find(fd)
	if st == nil {
		return false
	}
	w := st.wr
	if w == 0 || p.ops[w-1].kind != KindSend || p.ops[w-1].token != token {
		p.Cancel(fd)
		return false
	}
	// The kernel may be writing it now: ask it to stop, but let its
	// completion through, with what it wrote.
	st.wr = 0
	p.Cancel(fd)
	p.cancelOp(w)
	return true
}

// Cancel drops fd's pending operations: their completions will be
// swallowed, and the kernel is asked to cancel them by user_data (not by
// fd: the caller closes fd now, and its number may be reused at once).
func (p *uringPort) Cancel(fd int) {
	st := p.fds.find(fd)
	if st == nil {
		return
	}
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

// Settle submits the queued cancellations and runs the completion work the
// ring defers to this thread (DEFER_TASKRUN): a cancelled request lets go
// of its file only then, so until Settle or the next Wait a cancelled
// accept keeps its listener's address bound.
func (p *uringPort) Settle() {
	p.enter(0, 0, nil)
}
