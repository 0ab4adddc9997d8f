package completion

// BufSize is the size of the buffers a port reads into. 64 KiB keeps a bulk
// transfer at a few syscalls per megabyte while the pool stays small: buffers
// are held only while data is in flight, never by an idle connection.
const BufSize = 64 << 10

// Buf is a receive buffer lent by a Port.
type Buf struct {
	B  []byte
	id int32 // io_uring provided-buffer id, or -1 for a heap buffer
}

// bufPool is a per-port free list; single-threaded by construction.
type bufPool struct {
	free []*Buf
	max  int // free buffers kept; the rest go to the garbage collector
}

func (p *bufPool) get() *Buf {
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		return b
	}
	return &Buf{B: make([]byte, BufSize), id: -1}
}

func (p *bufPool) put(b *Buf) {
	if b == nil || len(p.free) >= p.max {
		return
	}
	p.free = append(p.free, b)
}
