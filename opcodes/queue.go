package opcodes

import (
	"slices"
	"sort"
)

// outChunk is the size of the pooled blocks output is copied into. A write
// sends up to maxWriteChunks segments with one writev.
const (
	outChunk       = 64 << 10
	maxWriteChunks = 64
)

// chunk is a block of output bytes that queues reference. A message for
// many connections is copied into one chunk once, and every queue holds a
// reference to it instead of a copy; the chunk goes back to the pool when
// the last reference is written or dropped.
type chunk struct {
	b    []byte
	refs int32
	// noPool: a write still in flight may read it after the last reference
	// went (its connection closed under it): leave it to the collector.
	noPool bool
}

// chunkPool is a loop's free list of pooled chunks.
type chunkPool struct {
	free []*chunk
	max  int // chunks kept; more go to the garbage collector
}

// get returns an empty chunk of cap outChunk, or of cap n when n is larger.
func (p *chunkPool) get(n int) *chunk {
	if n > outChunk {
		return &chunk{b: make([]byte, 0, n)} // never pooled: sized for one message
	}
	if k := len(p.free); k > 0 {
		c := p.free[k-1]
		p.free[k-1] = nil
		p.free = p.free[:k-1]
		return c
	}
	return &chunk{b: make([]byte, 0, outChunk)}
}

// unref drops one reference to c, and pools it when it was the last.
func (p *chunkPool) unref(c *chunk) {
	c.refs--
	if c.refs > 0 {
		return
	}
	if !c.noPool && cap(c.b) == outChunk && len(p.free) < p.max {
		c.b, c.refs = c.b[:0], 0
		p.free = append(p.free, c)
	}
}

// seg is queued bytes inside one chunk.
type seg struct {
	b []byte
	c *chunk
}

// outQueue is one connection's queued output: segments front to back, and
// the end of each queued message, to count deliveries and drops by message.
// Positions count from the connection's first byte.
type outQueue struct {
	segs     []seg
	head     int    // segs[head:] are live
	fill     *chunk // where small messages are copied; the queue holds a reference
	appended int    // bytes ever queued
	written  int    // bytes ever written
	first    int    // where the first live message began
	// ends[endsAt:] are where the queued messages end, ascending: popped
	// from the front by moving endsAt, compacted now and then, so a write
	// or a drop costs what it removes, not the queue's length.
	ends   []int
	endsAt int
}

// live is the ends of the queued messages.
func (q *outQueue) live() []int { return q.ends[q.endsAt:] }

// popEnds removes the first k live message ends.
func (q *outQueue) popEnds(k int) {
	if k == 0 {
		return
	}
	q.first = q.ends[q.endsAt+k-1]
	q.endsAt += k
	if q.endsAt == len(q.ends) {
		q.ends, q.endsAt = q.ends[:0], 0
	} else if q.endsAt > 32 && q.endsAt > len(q.ends)/2 {
		n := copy(q.ends, q.ends[q.endsAt:])
		q.ends, q.endsAt = q.ends[:n], 0
	}
}

func (q *outQueue) len() int { return q.appended - q.written }

// msgs is how many messages are queued, whole or in part.
func (q *outQueue) msgs() int { return len(q.ends) - q.endsAt }

// push copies one message made of parts into the queue's own chunks.
func (q *outQueue) push(pool *chunkPool, parts [][]byte) {
	for _, p := range parts {
		q.pushPart(pool, p)
	}
	q.endMessage()
}

// endMessage ends the message pushPart has been queueing.
func (q *outQueue) endMessage() { q.ends = append(q.ends, q.appended) }

// pushPart copies bytes of a message still arriving (cut-through).
func (q *outQueue) pushPart(pool *chunkPool, p []byte) {
	for len(p) > 0 {
		f := q.fill
		if f == nil || len(f.b) == cap(f.b) {
			if f != nil {
				pool.unref(f)
			}
			f = pool.get(0)
			f.refs = 1
			q.fill = f
		}
		start := len(f.b)
		k := min(len(p), cap(f.b)-start)
		f.b = append(f.b, p[:k]...)
		q.add(f, f.b[start:start+k])
		p = p[k:]
	}
}

// pushShared queues one message that lies in a shared chunk.
func (q *outQueue) pushShared(c *chunk, b []byte) {
	q.add(c, b)
	q.ends = append(q.ends, q.appended)
}

// add appends b, which lies in c, extending the last segment when b
// continues it.
func (q *outQueue) add(c *chunk, b []byte) {
	q.appended += len(b)
	if len(b) == 0 {
		return
	}
	if n := len(q.segs); n > q.head {
		last := &q.segs[n-1]
		if last.c == c && len(b) > 0 && cap(last.b)-len(last.b) == cap(b) {
			last.b = last.b[:len(last.b)+len(b)]
			return
		}
	}
	c.refs++
	q.segs = append(q.segs, seg{b: b, c: c})
}

// continues reports whether b, a message in shared chunk c, directly
// follows the last queued bytes in the stream of shared messages: right
// after them in c, or at the start of c when they end prev, the shared
// chunk before c. Segments keep their chunk's capacity beyond them, so
// what lies after one is cap(b) - len(b) bytes.
func (q *outQueue) continues(c *chunk, b []byte, prev *chunk) bool {
	n := len(q.segs)
	if n == q.head {
		return true
	}
	last := q.segs[n-1]
	after := cap(last.b) - len(last.b)
	switch {
	case last.c == c:
		return after == cap(b)
	case last.c == prev && prev != nil:
		return after == cap(prev.b)-len(prev.b) && cap(b) == cap(c.b)
	}
	return false
}

// iov appends the queued bytes to dst, up to maxWriteChunks slices in dst
// (a session's control output may lead them).
func (q *outQueue) iov(dst [][]byte) [][]byte {
	for i := q.head; i < len(q.segs) && len(dst) < maxWriteChunks; i++ {
		dst = append(dst, q.segs[i].b)
	}
	return dst
}

// iovFirst appends the bytes of the first queued message alone (for a
// datagram socket, where one write is one message).
func (q *outQueue) iovFirst(dst [][]byte) [][]byte {
	if q.msgs() == 0 {
		return dst
	}
	left := q.live()[0] - q.written
	for i := q.head; i < len(q.segs) && left > 0; i++ {
		b := q.segs[i].b
		if len(b) > left {
			b = b[:left]
		}
		dst = append(dst, b)
		left -= len(b)
	}
	return dst
}

// consume marks n bytes written, drops the references they finished, and
// returns how many messages they completed.
func (q *outQueue) consume(pool *chunkPool, n int) int {
	q.skip(pool, n)
	ends := q.live()
	done := 0
	for done < len(ends) && ends[done] <= q.written {
		done++
	}
	q.popEnds(done)
	return done
}

// compact reclaims the front of segs; an empty queue lets go of its fill
// chunk, so an idle connection holds no output memory.
func (q *outQueue) compact(pool *chunkPool) {
	switch {
	case q.head == len(q.segs):
		q.segs, q.head = q.segs[:0], 0
		if q.fill != nil {
			pool.unref(q.fill)
			q.fill = nil
		}
	case q.head > 32 && q.head > len(q.segs)/2:
		n := copy(q.segs, q.segs[q.head:])
		clear(q.segs[n:])
		q.segs, q.head = q.segs[:n], 0
	}
}

// letGo drops an empty queue's segment and message-end arrays (the next
// message makes them again) and reports whether it was empty.
func (q *outQueue) letGo() bool {
	if q.head != len(q.segs) || q.msgs() > 0 {
		return false
	}
	q.segs, q.head, q.ends, q.endsAt = nil, 0, nil, 0
	return true
}

// dropOldest drops the oldest messages that no write has started on (the
// first inflight bytes may be in a write), until at most keepBytes bytes and
// keepMsgs messages are queued or none is left to drop. It returns how many
// messages and bytes went.
//
// Its cost is what it drops plus a binary search, not the queue's length:
// a slow subscriber under drop-oldest drops on every message it is
// offered. Dropping from the front (nothing started) only moves the
// queue's start; dropping behind messages a write has started on cuts the
// segments in between and moves the ends of the messages behind the cut
// (few: what arrived since the write began, as that write took everything
// queued before it, up to maxWriteChunks segments).
func (q *outQueue) dropOldest(pool *chunkPool, inflight, keepBytes, keepMsgs int) (msgs, bytes int) {
	ends := q.live()
	i := q.firstUnstarted(inflight)
	j, from := i, q.start(i)
	for j < len(ends) && (q.len()-(q.start(j)-from) > keepBytes || len(ends)-(j-i) > keepMsgs) {
		j++ // drop i..j-1
	}
	if j == i {
		return 0, 0
	}
	to := ends[j-1]
	n := to - from
	if from == q.written {
		// Nothing before them is queued: skip them as if written.
		q.skip(pool, n)
		q.popEnds(j)
		return j, n
	}
	q.cut(pool, from, to)
	for k := j; k < len(ends); k++ {
		ends[k] -= n
	}
	q.ends = append(q.ends[:q.endsAt+i], ends[j:]...)
	q.appended -= n
	q.compact(pool)
	return j - i, n
}

// firstUnstarted is the index among the live messages of the first that no
// write has started on: none of it written, none in the inflight bytes of a
// send under way.
func (q *outQueue) firstUnstarted(inflight int) int {
	busy := q.written + inflight // bytes before this may be on their way
	if q.first >= busy {
		return 0
	}
	// Message i starts where i-1 ends: the first end at or past busy
	// ends the last started message.
	ends := q.live()
	return min(len(ends), 1+sort.SearchInts(ends, busy))
}

// skip moves the queue's start n bytes on: written, or dropped unwritten.
func (q *outQueue) skip(pool *chunkPool, n int) {
	q.written += n
	for n > 0 {
		s := &q.segs[q.head]
		if n < len(s.b) {
			s.b = s.b[n:]
			break
		}
		n -= len(s.b)
		pool.unref(s.c)
		*s = seg{}
		q.head++
	}
	q.compact(pool)
}

// start is where live message i begins.
func (q *outQueue) start(i int) int {
	if i == 0 {
		return q.first
	}
	return q.live()[i-1]
}

// abandonStarted drops the messages a write has started on, as their
// connection is lost: partly written, or maybe in an unfinished send of
// inflight bytes (their chunks then never return to the pool). A new
// connection must not get their tails. It returns the messages and bytes
// dropped.
func (q *outQueue) abandonStarted(pool *chunkPool, inflight int) (msgs, bytes int) {
	k := q.firstUnstarted(inflight)
	if k == 0 {
		return 0, 0
	}
	left := inflight
	for i := q.head; i < len(q.segs) && left > 0; i++ {
		q.segs[i].c.noPool = true
		left -= len(q.segs[i].b)
	}
	n := q.live()[k-1] - q.written
	return q.consume(pool, n), n
}

// cut removes bytes [from, to) (absolute positions, none written yet), in
// place: it walks the segments up to to, and moves those after the cut
// down over the ones it removed.
func (q *outQueue) cut(pool *chunkPool, from, to int) {
	pos := q.written
	i := q.head
	for pos+len(q.segs[i].b) <= from {
		pos += len(q.segs[i].b)
		i++
	}
	// segs[i] starts at pos and holds byte from.
	s := q.segs[i]
	if pos < from && pos+len(s.b) > to {
		// The cut lies inside one segment: it becomes two.
		s.c.refs++
		q.segs = slices.Insert(q.segs, i+1, seg{b: s.b[to-pos:], c: s.c})
		q.segs[i].b = s.b[:from-pos]
		return
	}
	if pos < from { // keep its head; the rest of it is cut
		q.segs[i].b = s.b[:from-pos]
		pos += len(s.b)
		i++
	}
	w := i // segs after the cut move down to here
	for ; i < len(q.segs) && pos < to; i++ {
		s := q.segs[i]
		if pos+len(s.b) > to {
			q.segs[i].b = s.b[to-pos:] // keep its tail
			break
		}
		pos += len(s.b)
		pool.unref(s.c)
	}
	n := copy(q.segs[w:], q.segs[i:])
	clear(q.segs[w+n:])
	q.segs = q.segs[:w+n]
}

// reset empties the queue. inflight says a write may still read its
// chunks: those then never return to the pool.
func (q *outQueue) reset(pool *chunkPool, inflight bool) {
	for i := q.head; i < len(q.segs); i++ {
		if inflight {
			q.segs[i].c.noPool = true
		}
		pool.unref(q.segs[i].c)
	}
	clear(q.segs)
	if q.fill != nil {
		if inflight {
			q.fill.noPool = true
		}
		pool.unref(q.fill)
		q.fill = nil
	}
	q.segs, q.head, q.ends, q.endsAt = q.segs[:0], 0, q.ends[:0], 0
	q.written = q.appended
	q.first = q.appended
}

// A queue references a shared message only where that costs no memory
// beyond the message: where it extends the queue's run of consecutive
// shared messages (or starts one in an empty queue), or where the message
// has a chunk of its own (over outChunk). Elsewhere — a topic filter or
// drops leave gaps — it is copied, instead of pinning a 64 KiB chunk for a
// few bytes. What a queue's chunks hold is then at most three chunks (its
// fill and the two ends of its run) beyond its queued bytes, or twice
// them where messages over outChunk cut the run (each ends the chunk
// before it early).

// shareStream is a loop's copy of what its group sends queue: each message
// copied once, message after message, into chunks that queues reference,
// so that a subscriber's queue holds a run of them as one segment.
type shareStream struct {
	fill *chunk // being filled; the stream holds a reference
	// prev is the chunk fill replaced. The stream keeps its reference
	// while it is prev: pooled and reused, it could pass for it.
	prev *chunk
	cur  []byte // this send's message in fill, once copied

	// A run (see batch.go): its bytes as segments, a chunk each; the chunk
	// before the first; and the chunks it holds a reference to until every
	// queue has taken its own (a chunk the stream moved past could
	// otherwise be pooled and refilled by the same run).
	spans   []seg
	runPrev *chunk
	held    []*chunk
}

// queue puts this send's message on q: by reference to the shared copy
// (made on first use), or copied into q's own chunks where a reference
// would pin more than the message (see above).
func (s *shareStream) queue(pool *chunkPool, q *outQueue, wire []byte) {
	if s.cur == nil {
		s.copy(pool, wire)
	}
	if len(wire) > outChunk || q.len() == 0 || q.continues(s.fill, s.cur, s.prev) {
		q.pushShared(s.fill, s.cur)
		return
	}
	q.push(pool, [][]byte{wire})
}

// queueOne puts a message for one queue, empty, on it by reference to a
// copy in the stream, which it leaves ready for the next send.
func (s *shareStream) queueOne(pool *chunkPool, q *outQueue, wire []byte) {
	s.copy(pool, wire)
	q.pushShared(s.fill, s.cur)
	s.done()
}

// copy appends wire to the stream as this send's message.
func (s *shareStream) copy(pool *chunkPool, wire []byte) {
	f := s.fill
	if f == nil || cap(f.b)-len(f.b) < len(wire) {
		if s.prev != nil {
			pool.unref(s.prev)
		}
		s.prev = f
		f = pool.get(len(wire))
		f.refs = 1
		s.fill = f
	}
	start := len(f.b)
	f.b = append(f.b, wire...)
	// The slice keeps the chunk's capacity beyond it, as queued segments
	// do: add extends a segment by the message that follows it.
	s.cur = f.b[start:]
}

// done ends a send: the next queue call copies the next message.
func (s *shareStream) done() { s.cur = nil }

// copyRun appends a run's messages to the stream, each whole in one chunk
// as copy places them; msgs[i].end - base is where message i ends in data.
func (s *shareStream) copyRun(pool *chunkPool, data []byte, base int, msgs []batchMsg) {
	s.done()
	from := base
	for i, msg := range msgs {
		wire := data[from-base : msg.end-base]
		from = msg.end
		s.copy(pool, wire)
		f := s.fill
		if n := len(s.held); n == 0 || s.held[n-1] != f {
			f.refs++
			s.held = append(s.held, f)
		}
		if i == 0 {
			s.runPrev = s.prev
		}
		if n := len(s.spans); n > 0 && s.spans[n-1].c == f {
			last := &s.spans[n-1]
			last.b = last.b[:len(last.b)+len(wire)]
		} else {
			s.spans = append(s.spans, seg{b: s.cur[:len(wire)], c: f})
		}
	}
	s.done()
}

// queueRun puts the first n bytes of the run copyRun made, msgs' messages,
// on q: by reference where it continues q's run of shared messages (or q
// is empty), else copied into q's own chunks, as queue decides for one
// message.
func (s *shareStream) queueRun(pool *chunkPool, q *outQueue, base, n int, msgs []batchMsg) {
	at := q.appended - base
	shared := q.len() == 0 || q.continues(s.spans[0].c, s.spans[0].b, s.runPrev)
	for _, sp := range s.spans {
		b := sp.b[:min(len(sp.b), n)]
		if shared {
			q.add(sp.c, b)
		} else {
			q.pushPart(pool, b)
		}
		if n -= len(b); n == 0 {
			break
		}
	}
	for _, msg := range msgs {
		q.ends = append(q.ends, at+msg.end)
	}
}

// releaseRun lets go of the run's chunks once every queue took its own
// references.
func (s *shareStream) releaseRun(pool *chunkPool) {
	for _, c := range s.held {
		pool.unref(c)
	}
	clear(s.held)
	clear(s.spans)
	s.held, s.spans, s.runPrev = s.held[:0], s.spans[:0], nil
}
