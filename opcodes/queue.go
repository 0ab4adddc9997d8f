package opcodes

// outChunk is the size of the blocks a connection's output queue is made
// of. Appending never moves what is queued; a write sends up to
// maxWriteChunks blocks with one writev.
const (
	outChunk       = 64 << 10
	maxWriteChunks = 64
)

// chunkPool is a loop's free list of output blocks.
type chunkPool struct {
	free [][]byte
	max  int // blocks kept; more go to the garbage collector
}

func (p *chunkPool) get() []byte {
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		return b
	}
	return make([]byte, 0, outChunk)
}

func (p *chunkPool) put(b []byte) {
	if len(p.free) < p.max && cap(b) == outChunk {
		p.free = append(p.free, b[:0])
	}
}

// outQueue is one connection's queued output: blocks filled front to back,
// and the end of each queued message, to count deliveries and drops by
// message. Positions are counted from the connection's first byte.
type outQueue struct {
	chunks   [][]byte
	head     int // chunks[0][head:] is the next byte to write
	appended int // bytes ever queued
	written  int // bytes ever written
	ends     []int
}

func (q *outQueue) len() int { return q.appended - q.written }

// msgs is how many messages are queued, whole or in part.
func (q *outQueue) msgs() int { return len(q.ends) }

// push queues one message made of parts.
func (q *outQueue) push(pool *chunkPool, parts [][]byte) {
	for _, p := range parts {
		for len(p) > 0 {
			n := len(q.chunks)
			if n == 0 || len(q.chunks[n-1]) == outChunk {
				q.chunks = append(q.chunks, pool.get())
				n++
			}
			last := q.chunks[n-1]
			k := min(len(p), outChunk-len(last))
			q.chunks[n-1] = append(last, p[:k]...)
			p = p[k:]
			q.appended += k
		}
	}
	q.ends = append(q.ends, q.appended)
}

// iov appends the queued bytes to dst, one slice per block, at most
// maxWriteChunks of them.
func (q *outQueue) iov(dst [][]byte) [][]byte {
	for i, c := range q.chunks {
		if i == maxWriteChunks {
			break
		}
		if i == 0 {
			c = c[q.head:]
		}
		dst = append(dst, c)
	}
	return dst
}

// consume marks n bytes written, recycles the blocks they emptied, and
// returns how many messages they completed.
func (q *outQueue) consume(pool *chunkPool, n int) int {
	q.written += n
	for n > 0 {
		avail := len(q.chunks[0]) - q.head
		if n < avail {
			q.head += n
			break
		}
		n -= avail
		pool.put(q.chunks[0])
		copy(q.chunks, q.chunks[1:])
		q.chunks[len(q.chunks)-1] = nil
		q.chunks = q.chunks[:len(q.chunks)-1]
		q.head = 0
	}
	done := 0
	for done < len(q.ends) && q.ends[done] <= q.written {
		done++
	}
	if done > 0 {
		q.ends = append(q.ends[:0], q.ends[done:]...)
	}
	return done
}

// reset empties the queue. Its blocks go back to pool, unless a write
// still in flight may read them (pool nil): then the collector has them
// once the port lets go.
func (q *outQueue) reset(pool *chunkPool) {
	for i, c := range q.chunks {
		if pool != nil {
			pool.put(c)
		}
		q.chunks[i] = nil
	}
	q.chunks, q.head, q.ends = q.chunks[:0], 0, q.ends[:0]
	q.written = q.appended
}
