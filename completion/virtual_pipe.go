package completion

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
)

// Pipe is an in-process connection: a virtual descriptor a loop reads and
// writes through its Port like a socket, whose other end is Go code
// calling Write and Read. Each direction is a bounded ring; neither side
// takes a lock to move bytes. A side that finds its ring empty (or full)
// says so in a flag and sleeps: the loop until mail wakes it (the Pipe
// itself, posted to its inbox), Go code on a channel of one. The other
// side wakes it only when the flag is set, so a busy pipe costs no wakeups
// and a burst costs one.
type Pipe struct {
	fd     int
	toLoop ring // Go writes, the loop reads
	toGo   ring // the loop writes, Go reads
	owner  atomic.Pointer[Loop]

	// Owned by the loop: the recv and send its port holds for the pipe.
	recvArmed, sendArmed bool
	recvTok, sendTok     uint64
	sendIov              [][]byte

	// Who sleeps until the other side moves: set by the sleeper, cleared
	// by whoever wakes it.
	loopWantsData, loopWantsRoom atomic.Bool
	goWantsData, goWantsRoom     atomic.Bool
	dataCh, roomCh               chan struct{} // cap 1: wake Go's reader, writer

	goShut, goClosed     atomic.Bool // Go's end: no more writes; gone
	loopShut, loopClosed atomic.Bool // the loop's end: likewise

	note note // how Go's side posts the pipe to its loop
}

// ErrPipeClosed is returned by a Pipe's Write once either end has closed.
var ErrPipeClosed = errors.New("in-process connection closed")

func newPipe(fd, size int) *Pipe {
	size = ringSize(size)
	p := &Pipe{fd: fd, toLoop: ring{size: size}, toGo: ring{size: size},
		dataCh: make(chan struct{}, 1), roomCh: make(chan struct{}, 1)}
	p.note.node.val = p
	return p
}

// FD is the virtual descriptor the loop knows the pipe by.
func (p *Pipe) FD() int { return p.fd }

// Size is what each direction's ring holds.
func (p *Pipe) Size() int { return p.toGo.size }

// Write queues segs, back to back, for the loop to read. When they fit
// the ring they are written whole or not at all: Write waits for room,
// and a ctx that ends first leaves nothing written. Larger ones are
// written in pieces as room appears; n says how much was written when
// ctx ended part way. Write may be called by one goroutine at a time.
func (p *Pipe) Write(ctx context.Context, segs [][]byte) (n int, err error) {
	total := 0
	for _, s := range segs {
		total += len(s)
	}
	for n < total {
		if p.goClosed.Load() || p.loopClosed.Load() || p.goShut.Load() {
			return n, ErrPipeClosed
		}
		need := 1 // a piece of a large write
		if n == 0 && total <= p.toLoop.size {
			need = total // whole or not at all
		}
		if p.toLoop.free() < need {
			// Say so, then look again: a wake that raced with saying so
			// is never missed.
			p.goWantsRoom.Store(true)
			if p.toLoop.free() < need && !p.loopClosed.Load() && !p.goClosed.Load() {
				if err := p.sleep(ctx, &p.goWantsRoom, p.roomCh); err != nil {
					return n, err
				}
			} else {
				p.goWantsRoom.Store(false)
			}
			continue
		}
		k := p.toLoop.write(skip(segs, n))
		n += k
		if p.loopWantsData.Load() && p.loopWantsData.CompareAndSwap(true, false) {
			p.notify()
		}
	}
	return n, nil
}

// skip returns segs without their first n bytes; it allocates only when
// n falls inside a segment (a large write resumed).
func skip(segs [][]byte, n int) [][]byte {
	for len(segs) > 0 && n >= len(segs[0]) {
		n -= len(segs[0])
		segs = segs[1:]
	}
	if n == 0 {
		return segs
	}
	out := append([][]byte{segs[0][n:]}, segs[1:]...)
	return out
}

// Read copies what the loop has written, up to len(dst), waiting for
// some. It returns io.EOF once the loop's end has closed or half-closed
// and everything it wrote has been read, and ErrPipeClosed once Go's end
// has closed. Read, Peek, Discard and Wait are the reader's: one
// goroutine at a time.
func (p *Pipe) Read(ctx context.Context, dst []byte) (int, error) {
	for {
		if p.goClosed.Load() { // what was not read is discarded
			return 0, ErrPipeClosed
		}
		if n := p.toGo.read(dst); n > 0 {
			p.tookRoom()
			return n, nil
		}
		if err := p.Wait(ctx); err != nil {
			return 0, err
		}
	}
}

// Peek returns what the loop has written and the reader has not taken,
// as far as it lies contiguous in the ring (the rest follows once that is
// discarded), without taking it: the loop does not write over it until
// Discard. Empty when nothing is there.
func (p *Pipe) Peek() []byte { return p.toGo.peek() }

// Discard takes the first n bytes Peek showed.
func (p *Pipe) Discard(n int) {
	p.toGo.discard(n)
	p.tookRoom()
}

// tookRoom wakes the loop if it waits for the room the reader just made.
func (p *Pipe) tookRoom() {
	if p.loopWantsRoom.Load() && p.loopWantsRoom.CompareAndSwap(true, false) {
		p.notify()
	}
}

// Wait waits until the loop has written something the reader has not
// taken, or ctx ends. It returns io.EOF once the loop's end has closed or
// half-closed and everything it wrote has been taken, and ErrPipeClosed
// once Go's end has closed.
func (p *Pipe) Wait(ctx context.Context) error {
	for {
		if p.goClosed.Load() {
			return ErrPipeClosed
		}
		ended := p.loopShut.Load() || p.loopClosed.Load() // before the ring: what preceded it is there
		if p.toGo.readable() > 0 {
			return nil
		}
		if ended {
			return io.EOF
		}
		p.goWantsData.Store(true)
		if p.toGo.readable() == 0 && !p.loopShut.Load() && !p.loopClosed.Load() && !p.goClosed.Load() {
			if err := p.sleep(ctx, &p.goWantsData, p.dataCh); err != nil {
				return err
			}
		} else {
			p.goWantsData.Store(false)
		}
	}
}

// Buffered is how many bytes the loop has written that Read has not
// taken.
func (p *Pipe) Buffered() int { return p.toGo.readable() }

// sleep waits on ch, having said so in want, until woken or ctx ends.
func (p *Pipe) sleep(ctx context.Context, want *atomic.Bool, ch chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		want.Store(false)
		return ctx.Err()
	}
}

// Closed reports whether Go's end was closed.
func (p *Pipe) Closed() bool { return p.goClosed.Load() }

// CloseWrite ends Go's output: the loop reads what was written, then end
// of stream. Go may go on reading.
func (p *Pipe) CloseWrite() {
	if !p.goShut.Swap(true) {
		p.notify()
	}
}

// Close ends Go's side: the loop reads what was written, then end of
// stream, and its writes fail; Go's own waiting Read and Write return.
func (p *Pipe) Close() {
	if p.goClosed.Swap(true) {
		return
	}
	p.notify()
	wake(p.dataCh)
	wake(p.roomCh)
}

// notify posts the pipe to the loop serving it, if any: the loop looks at
// what it holds for the pipe again. A loop that has not touched the pipe
// yet finds its state when it first does.
func (p *Pipe) notify() { p.note.post(p.owner.Load()) }

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Loop side: called from the owning loop only, through its port.

// loopRead takes what Go wrote into b; 0 with ok says end of stream.
func (p *Pipe) loopRead(b []byte) (n int, eof bool) {
	ended := p.goShut.Load() || p.goClosed.Load() // before the ring: what preceded it is there
	if n = p.toLoop.read(b); n > 0 {
		if p.goWantsRoom.Load() && p.goWantsRoom.CompareAndSwap(true, false) {
			wake(p.roomCh)
		}
		return n, false
	}
	return 0, ended
}

// loopWrite writes what fits of iov for Go to read.
func (p *Pipe) loopWrite(iov [][]byte) int {
	n := p.toGo.write(iov)
	if n > 0 && p.goWantsData.Load() && p.goWantsData.CompareAndSwap(true, false) {
		wake(p.dataCh)
	}
	return n
}

// loopShutdown ends the loop's output: Go reads the rest, then io.EOF.
func (p *Pipe) loopShutdown() {
	p.loopShut.Store(true)
	wake(p.dataCh)
}

// loopClose ends the loop's side for good.
func (p *Pipe) loopClose() {
	p.loopClosed.Store(true)
	wake(p.dataCh)
	wake(p.roomCh)
}
