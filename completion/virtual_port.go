package completion

import (
	"time"

	"golang.org/x/sys/unix"
)

// virtualPort is the Port a Loop serves: the engine's own for real
// descriptors, and for virtual ones (virtual_fd.go) the same contract
// served from memory. An operation on a Pipe or Listener that can finish
// at once is queued as a completion for the next Wait (never reported
// from the call, as the engines do); one that cannot is held until the
// Go side posts the Pipe or Listener to the loop's inbox (noted).
type virtualPort struct {
	Port
	loop  *Loop
	ready []Completion // finished virtual operations, for the next Wait
	fds   []int        // the descriptor of each in ready, for Cancel
	bufs  bufPool
	taken []*Pipe // scratch: a listener's backlog
}

// virtualBuf marks the buffers a virtualPort lends, so Release knows them.
const virtualBuf = -2

func newVirtualPort(p Port, l *Loop) *virtualPort {
	return &virtualPort{Port: p, loop: l, bufs: bufPool{max: 64}}
}

func (v *virtualPort) finish(fd int, c Completion) {
	v.ready = append(v.ready, c)
	v.fds = append(v.fds, fd)
}

func (v *virtualPort) Accept(fd int, token uint64) error {
	if !IsVirtual(fd) {
		return v.Port.Accept(fd, token)
	}
	l := lookupListener(fd)
	if l == nil {
		return unix.EBADF
	}
	l.owner.Store(v.loop)
	l.armed, l.tok = true, token
	v.acceptAll(l)
	return nil
}

// acceptAll completes an accept for each dial in l's backlog. The accept
// stays armed, so the loop wants to hear of the next dial whether or not
// it found any: wants is set before the backlog is taken, and a dial that
// lands after the take sees it and posts the listener.
func (v *virtualPort) acceptAll(l *Listener) {
	if !l.armed {
		return
	}
	l.wants.Store(true)
	v.taken = l.take(v.taken[:0])
	for i, p := range v.taken {
		v.finish(l.fd, Completion{Token: l.tok, Kind: KindAccept, N: p.fd})
		v.taken[i] = nil
	}
}

func (v *virtualPort) Recv(fd int, token uint64) error {
	if !IsVirtual(fd) {
		return v.Port.Recv(fd, token)
	}
	p := lookupPipe(fd)
	if p == nil {
		return unix.EBADF
	}
	p.owner.Store(v.loop)
	p.recvArmed, p.recvTok = true, token
	v.tryRecv(p)
	return nil
}

// tryRecv completes p's recv if Go wrote something or ended; else it says
// the loop waits, and looks once more for what raced with saying so.
func (v *virtualPort) tryRecv(p *Pipe) {
	for range 2 {
		b := v.bufs.get()
		b.id = virtualBuf
		n, eof := p.loopRead(b.B)
		if n > 0 || eof {
			if n == 0 {
				v.bufs.put(b)
				b = nil
			}
			p.recvArmed = false
			p.loopWantsData.Store(false)
			v.finish(p.fd, Completion{Token: p.recvTok, Kind: KindRecv, N: n, Buf: b})
			return
		}
		v.bufs.put(b)
		p.loopWantsData.Store(true)
	}
}

func (v *virtualPort) Send(fd int, iov [][]byte, token uint64) error {
	if !IsVirtual(fd) {
		return v.Port.Send(fd, iov, token)
	}
	p := lookupPipe(fd)
	if p == nil {
		return unix.EBADF
	}
	p.owner.Store(v.loop)
	p.sendArmed, p.sendTok, p.sendIov = true, token, iov
	v.trySend(p)
	return nil
}

// trySend completes p's send with what fits its ring, or EPIPE once Go
// has closed; else it says the loop waits for room.
func (v *virtualPort) trySend(p *Pipe) {
	for range 2 {
		if p.goClosed.Load() {
			v.sent(p, Completion{Token: p.sendTok, Kind: KindSend, Err: unix.EPIPE})
			return
		}
		if n := p.loopWrite(p.sendIov); n > 0 {
			v.sent(p, Completion{Token: p.sendTok, Kind: KindSend, N: n})
			return
		}
		p.loopWantsRoom.Store(true)
	}
}

func (v *virtualPort) sent(p *Pipe, c Completion) {
	p.sendArmed, p.sendIov = false, nil
	p.loopWantsRoom.Store(false)
	v.finish(p.fd, c)
}

// noted looks again at what the loop holds for a pipe or listener whose
// Go side moved.
func (v *virtualPort) noted(x any) {
	switch x := x.(type) {
	case *Pipe:
		if x.recvArmed {
			v.tryRecv(x)
		}
		if x.sendArmed {
			v.trySend(x)
		}
	case *Listener:
		v.acceptAll(x)
	}
}

func (v *virtualPort) Connect(fd int, sa unix.Sockaddr, token uint64) error {
	if IsVirtual(fd) {
		return unix.EOPNOTSUPP
	}
	return v.Port.Connect(fd, sa, token)
}

func (v *virtualPort) SpliceIn(fd, pipeW, n int, token uint64) error {
	if IsVirtual(fd) {
		return unix.EINVAL // no kernel bytes to splice: use Recv
	}
	return v.Port.SpliceIn(fd, pipeW, n, token)
}

func (v *virtualPort) SpliceOut(pipeR, fd, n int, token uint64) error {
	if IsVirtual(fd) {
		return unix.EINVAL
	}
	return v.Port.SpliceOut(pipeR, fd, n, token)
}

func (v *virtualPort) ReadDirect(fd int, on bool) bool {
	if IsVirtual(fd) {
		return true // nothing is read ahead
	}
	return v.Port.ReadDirect(fd, on)
}

func (v *virtualPort) Cancel(fd int) {
	if !IsVirtual(fd) {
		v.Port.Cancel(fd)
		return
	}
	if p := lookupPipe(fd); p != nil {
		p.recvArmed, p.sendArmed, p.sendIov = false, false, nil
	} else if l := lookupListener(fd); l != nil {
		l.armed = false
	}
	v.drop(fd, 0, false)
}

// drop removes fd's finished completions not yet reaped (with token only,
// when one is given), giving back their buffers and closing the
// connections of accepts: nobody else knows of them, and their Go ends
// would wait for ever. It reports whether one was found.
func (v *virtualPort) drop(fd int, token uint64, one bool) bool {
	found := false
	keep := 0
	for i, c := range v.ready {
		if v.fds[i] == fd && (!one || c.Token == token) {
			found = true
			if c.Buf != nil {
				v.Release(c.Buf)
			}
			if c.Kind == KindAccept && c.Err == 0 {
				Close(c.N)
			}
			continue
		}
		v.ready[keep], v.fds[keep] = c, v.fds[i]
		keep++
	}
	clear(v.ready[keep:])
	v.ready, v.fds = v.ready[:keep], v.fds[:keep]
	return found
}

// Abort: a virtual send either finished (it copied bytes, and its
// completion is queued: it will be reported) or holds nothing written.
func (v *virtualPort) Abort(fd int, token uint64) bool {
	if !IsVirtual(fd) {
		return v.Port.Abort(fd, token)
	}
	for i, c := range v.ready {
		if v.fds[i] == fd && c.Token == token && c.Kind == KindSend {
			return true
		}
	}
	if p := lookupPipe(fd); p != nil && p.sendArmed && p.sendTok == token {
		p.sendArmed, p.sendIov = false, nil
	}
	return false
}

func (v *virtualPort) Wait(dst []Completion, block bool) ([]Completion, error) {
	if len(v.ready) > 0 {
		dst = append(dst, v.ready...)
		clear(v.ready)
		v.ready, v.fds = v.ready[:0], v.fds[:0]
		block = false
	}
	return v.Port.Wait(dst, block)
}

func (v *virtualPort) Release(b *Buf) {
	if b != nil && b.id == virtualBuf {
		v.bufs.put(b)
		return
	}
	v.Port.Release(b)
}

func (v *virtualPort) After(d time.Duration, token uint64) { v.Port.After(d, token) }

// virtualWritev is Writev for a Pipe: what fits its ring, inline.
func virtualWritev(fd int, iov [][]byte) (int, error) {
	p := lookupPipe(fd)
	if p == nil {
		return 0, unix.EBADF
	}
	if p.goClosed.Load() {
		return 0, unix.EPIPE
	}
	if n := p.loopWrite(iov); n > 0 {
		return n, nil
	}
	return 0, unix.EAGAIN
}

var _ Port = (*virtualPort)(nil)
