package completion

import "sync/atomic"

// ring is a bounded single-producer, single-consumer byte queue: one side
// of a Pipe. The producer only advances tail and the consumer only head,
// each with one atomic store, so neither ever waits on a lock; who sleeps
// when it is full or empty is the Pipe's business. Its buffer is made on
// the first write, so a pipe nobody writes to costs no buffer.
type ring struct {
	buf  []byte // len a power of two; nil until the first write
	size int    // what buf will be
	head atomic.Uint64
	tail atomic.Uint64
}

func (r *ring) readable() int { return int(r.tail.Load() - r.head.Load()) }

// free is room for the producer.
func (r *ring) free() int { return r.size - int(r.tail.Load()-r.head.Load()) }

// write copies as much of segs, in order, as fits and returns how much
// that was. Producer only.
func (r *ring) write(segs [][]byte) int {
	if r.buf == nil {
		// Published to the consumer by the tail store below: it reads
		// buf only once tail has moved.
		r.buf = make([]byte, r.size)
	}
	tail := r.tail.Load()
	room := r.size - int(tail-r.head.Load())
	mask := uint64(r.size - 1)
	n := 0
	for _, s := range segs {
		for len(s) > 0 && room > 0 {
			at := int(tail & mask)
			k := copy(r.buf[at:min(len(r.buf), at+room)], s)
			s = s[k:]
			tail += uint64(k)
			room -= k
			n += k
		}
		if room == 0 {
			break
		}
	}
	r.tail.Store(tail)
	return n
}

// read copies up to len(dst) bytes out and returns how many. Consumer
// only.
func (r *ring) read(dst []byte) int {
	head := r.head.Load()
	avail := int(r.tail.Load() - head)
	if avail == 0 {
		return 0
	}
	mask := uint64(r.size - 1)
	n := 0
	for n < len(dst) && avail > 0 {
		at := int(head & mask)
		k := copy(dst[n:], r.buf[at:min(len(r.buf), at+avail)])
		head += uint64(k)
		avail -= k
		n += k
	}
	r.head.Store(head)
	return n
}

// peek returns the readable bytes up to the buffer's end, without taking
// them. Consumer only.
func (r *ring) peek() []byte {
	head := r.head.Load()
	avail := int(r.tail.Load() - head)
	if avail == 0 {
		return nil
	}
	at := int(head & uint64(r.size-1))
	return r.buf[at : at+min(avail, r.size-at)]
}

// discard takes n bytes peek showed. Consumer only.
func (r *ring) discard(n int) { r.head.Add(uint64(n)) }

// ringSize rounds n up to a power of two of at least 4 KiB.
func ringSize(n int) int {
	size := 4 << 10
	for size < n {
		size <<= 1
	}
	return size
}
