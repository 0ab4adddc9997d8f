package opcodes

import (
	"bytes"
	"testing"
)

// Messages of every size pushed and consumed in uneven writes come out as
// the same byte stream, counted by message, and every block is recycled.
func TestOutQueue(t *testing.T) {
	pool := &chunkPool{max: 1000}
	var q outQueue
	var want []byte
	sizes := []int{1, 0, 100, outChunk - 1, outChunk, outChunk + 1, 3*outChunk + 7, 5}
	for i, n := range sizes {
		msg := bytes.Repeat([]byte{byte('a' + i)}, n)
		q.push(pool, [][]byte{msg[:n/2], msg[n/2:]})
		want = append(want, msg...)
	}
	if q.len() != len(want) || q.msgs() != len(sizes) {
		t.Fatalf("queued %d bytes in %d messages, want %d in %d", q.len(), q.msgs(), len(want), len(sizes))
	}
	var got []byte
	done := 0
	for step := 1; q.len() > 0; step = step*3 + 1 {
		var iov [][]byte
		iov = q.iov(iov)
		var flat []byte
		for _, b := range iov {
			flat = append(flat, b...)
		}
		n := min(step, len(flat))
		got = append(got, flat[:n]...)
		done += q.consume(pool, n)
	}
	if !bytes.Equal(got, want) || done != len(sizes) || q.msgs() != 0 {
		t.Fatalf("stream differs (%d vs %d bytes), %d messages done", len(got), len(want), done)
	}
	if len(q.segs) != 0 || q.fill != nil {
		t.Fatalf("%d segments and fill %v left after draining", len(q.segs), q.fill != nil)
	}
	q.push(pool, [][]byte{[]byte("after")})
	q.reset(pool, false)
	if q.len() != 0 || q.msgs() != 0 || len(q.segs) != 0 || q.fill != nil {
		t.Fatal("reset left something queued")
	}
}

// drain writes the whole queue out in uneven steps and returns the bytes.
func drain(q *outQueue, pool *chunkPool) (out []byte, msgs int) {
	for step := 7; q.len() > 0; step = min(step*2+1, 1<<30) {
		var flat []byte
		for _, b := range q.iov(nil) {
			flat = append(flat, b...)
		}
		n := min(step, len(flat))
		out = append(out, flat[:n]...)
		msgs += q.consume(pool, n)
	}
	return out, msgs
}

// Shared chunks: two queues reference one copy; runs of consecutive
// messages in one chunk become one segment; the chunk goes back to the
// pool only after both queues have written it.
func TestOutQueueShared(t *testing.T) {
	pool := &chunkPool{max: 10}
	shared := pool.get(0)
	shared.refs = 1 // the filler's
	var a, b outQueue
	var wantA, wantB []byte
	for i := range 5 {
		msg := bytes.Repeat([]byte{byte('0' + i)}, 2000)
		start := len(shared.b)
		shared.b = append(shared.b, msg...)
		a.pushShared(shared, shared.b[start:])
		b.pushShared(shared, shared.b[start:])
		wantA, wantB = append(wantA, msg...), append(wantB, msg...)
		if i == 2 {
			a.push(pool, [][]byte{[]byte("own")}) // breaks a's run in two
			wantA = append(wantA, "own"...)
		}
	}
	if len(b.segs) != 1 {
		t.Errorf("b has %d segments for one run, want 1", len(b.segs))
	}
	if shared.refs != 1+1+2 {
		t.Errorf("shared refs = %d, want 4 (filler, b, a twice)", shared.refs)
	}
	pool.unref(shared) // the filler lets go
	gotA, nA := drain(&a, pool)
	if shared.refs != 1 || len(pool.free) != 1 { // a's fill chunk is back
		t.Errorf("after a: refs %d, %d pooled", shared.refs, len(pool.free))
	}
	gotB, nB := drain(&b, pool)
	if !bytes.Equal(gotA, wantA) || nA != 6 || nB != 5 {
		t.Fatalf("a: %d bytes %d msgs, b: %d msgs", len(gotA), nA, nB)
	}
	if !bytes.Equal(gotB, wantB) {
		t.Fatal("b's stream differs")
	}
	if shared.refs != 0 || len(pool.free) != 2 {
		t.Errorf("after b: refs %d, %d pooled, want 0 and 2", shared.refs, len(pool.free))
	}
}

// dropOldest removes whole messages from the front, never one a write may
// have started on, and keeps the rest of the stream intact.
func TestOutQueueDropOldest(t *testing.T) {
	tests := []struct {
		name              string
		written, inflight int // bytes consumed before, and in a write
		keepBytes         int
		keepMsgs          int
		wantDropped       []int // message indexes
	}{
		{"to fit bytes", 0, 0, 30, 100, []int{0, 1, 2}},
		{"to fit count", 0, 0, 1000, 4, []int{0, 1}},
		{"skips a started message", 3, 0, 30, 100, []int{1, 2, 3}},
		{"skips what is in flight", 0, 15, 30, 100, []int{2, 3, 4}},
		{"nothing droppable", 0, 60, 0, 0, nil},
		{"everything", 0, 0, 0, 0, []int{0, 1, 2, 3, 4, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := &chunkPool{max: 10}
			var q outQueue
			var msgs [][]byte
			for i := range 6 {
				m := bytes.Repeat([]byte{byte('a' + i)}, 10)
				msgs = append(msgs, m)
				q.push(pool, [][]byte{m})
			}
			var got []byte
			if tt.written > 0 {
				got = append(got, q.iov(nil)[0][:tt.written]...)
				q.consume(pool, tt.written)
			}
			n, b := q.dropOldest(pool, tt.inflight, tt.keepBytes, tt.keepMsgs)
			if n != len(tt.wantDropped) || b != 10*n {
				t.Fatalf("dropped %d messages, %d bytes; want %v", n, b, tt.wantDropped)
			}
			rest, done := drain(&q, pool)
			got = append(got, rest...)
			dropped := map[int]bool{}
			for _, i := range tt.wantDropped {
				dropped[i] = true
			}
			var want []byte
			for i, m := range msgs {
				if !dropped[i] {
					want = append(want, m...)
				}
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("stream %q, want %q", got, want)
			}
			if done != 6-n {
				t.Fatalf("%d messages written, %d dropped, want %d written", done, n, 6-n)
			}
			if len(q.segs) != 0 || q.fill != nil || len(pool.free) != 1 {
				t.Fatalf("after draining: %d segments, fill %v, %d pooled", len(q.segs), q.fill != nil, len(pool.free))
			}
		})
	}
}

// A shareStream copies each group message once and queues references to
// it, but a queue references small messages only in one unbroken run: one
// that takes scattered messages (a topic filter, drops) copies them
// instead of pinning a 64 KiB chunk for each few bytes. Every queue still
// gets exactly the messages it took.
func TestShareStream(t *testing.T) {
	tests := []struct {
		name  string
		size  func(i int) int  // message i's size
		takes func(i int) bool // whether the queue takes message i (true for i = -1 only if for all)
		drain int              // write everything out every drain messages (0: never)
		count int              // messages sent
	}{
		{"small, takes all", func(int) int { return 64 }, func(int) bool { return true }, 0, 20000},
		{"small, every 100th", func(int) int { return 64 }, func(i int) bool { return i%100 == 0 }, 0, 20000},
		{"small, runs with gaps", func(int) int { return 64 }, func(i int) bool { return i >= 0 && i%3000 < 2000 }, 0, 20000},
		{"small, every 7th, drained often", func(int) int { return 64 }, func(i int) bool { return i%7 == 0 }, 500, 20000},
		{"mixed sizes, every other", func(i int) int { return []int{64, 5000, 1, 70000, 300}[i%5] }, func(i int) bool { return i%2 == 0 }, 0, 2000},
		{"mixed sizes, all, drained", func(i int) int { return []int{64, 5000, 0, 70000, 300}[i%5] }, func(int) bool { return true }, 37, 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := &chunkPool{max: 1 << 20}
			var s shareStream
			var q, all outQueue // all takes every message: the stream keeps going for someone
			var want, got []byte
			took, wrote := 0, 0
			for i := range tt.count {
				msg := bytes.Repeat([]byte{byte(i), byte(i >> 8)}, tt.size(i))[:tt.size(i)]
				s.queue(pool, &all, msg)
				if tt.takes(i) {
					s.queue(pool, &q, msg)
					want = append(want, msg...)
					took++
				}
				s.done()
				if i%10 != 0 {
				} else if n := pinned(&q); n > 2*q.len()+3*outChunk {
					t.Fatalf("after message %d: the queue's chunks hold %d bytes for %d queued", i, n, q.len())
				}
				if tt.drain > 0 && i%tt.drain == 0 {
					out, n := drain(&q, pool)
					got, wrote = append(got, out...), wrote+n
				}
				if all.len() > 4*outChunk { // a fast subscriber
					drain(&all, pool)
				}
			}
			if tt.takes(-1) && q.fill != nil { // see the table: takes(-1) only where it takes all
				t.Fatal("a queue taking every message copied some: its run broke")
			}
			out, n := drain(&q, pool)
			got, wrote = append(got, out...), wrote+n
			drain(&all, pool)
			if !bytes.Equal(got, want) || wrote != took {
				t.Fatalf("the queue wrote %d bytes in %d messages, want %d in %d", len(got), wrote, len(want), took)
			}
			if s.fill.refs != 1 || (s.prev != nil && s.prev.refs != 1) {
				t.Fatalf("drained, the stream's chunks have %d and %v references, want only the stream's", s.fill.refs, s.prev)
			}
		})
	}
}

// pinned adds up the capacity of the distinct chunks q references.
func pinned(q *outQueue) int {
	seen := map[*chunk]bool{}
	if q.fill != nil {
		seen[q.fill] = true
	}
	for _, sg := range q.segs[q.head:] {
		seen[sg.c] = true
	}
	n := 0
	for c := range seen {
		n += cap(c.b)
	}
	return n
}

// Runs (batch.go): a run of messages is copied into the share stream once and
// each queue takes it whole, by reference where it continues the queue's
// run of shared bytes, else copied. Runs larger than a chunk span several;
// the queue still gets exactly its runs' bytes and message ends, and a
// queue taking every run never copies.
func TestShareStreamRuns(t *testing.T) {
	tests := []struct {
		name  string
		size  func(i int) int // message i's size
		run   func(r int) int // how many messages run r holds
		takes func(r int) bool
		drain int // write everything out every drain runs (0: never)
		runs  int
	}{
		{"small runs, takes all", func(int) int { return 64 }, func(int) int { return 1000 }, func(int) bool { return true }, 0, 60},
		{"runs over three chunks, takes all", func(int) int { return 64 }, func(int) int { return 3500 }, func(int) bool { return true }, 0, 20},
		{"short runs, every fifth", func(int) int { return 64 }, func(r int) int { return 2 + r%2 }, func(r int) bool { return r%5 == 0 }, 0, 5000},
		{"uneven runs, every other", func(i int) int { return 1 + i%200 }, func(r int) int { return 2 + r*37%900 }, func(r int) bool { return r%2 == 0 }, 0, 80},
		{"mixed sizes, every third, drained", func(i int) int { return []int{64, 5000, 0, 70000, 300}[i%5] }, func(r int) int { return 2 + r%9 }, func(r int) bool { return r%3 == 0 }, 4, 200},
		{"mixed sizes, takes all, drained", func(i int) int { return []int{64, 5000, 0, 70000, 300}[i%5] }, func(r int) int { return 2 + r%9 }, func(int) bool { return true }, 3, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := &chunkPool{max: 1 << 20}
			var s shareStream
			var q, all outQueue
			var want, got []byte
			took, wrote, i := 0, 0, 0
			for r := range tt.runs {
				// The run as a read holds it: messages back to back, at an
				// offset base into the batch it came in.
				const base = 1000
				var data []byte
				var msgs []batchMsg
				for range tt.run(r) {
					m := bytes.Repeat([]byte{byte(i), byte(i >> 8), byte(r)}, tt.size(i))[:tt.size(i)]
					data = append(data, m...)
					msgs = append(msgs, batchMsg{end: base + len(data), hi: len(m)})
					i++
				}
				s.copyRun(pool, data, base, msgs)
				s.queueRun(pool, &all, base, len(data), msgs)
				if tt.takes(r) {
					s.queueRun(pool, &q, base, len(data), msgs)
					want = append(want, data...)
					took += len(msgs)
				}
				s.releaseRun(pool)
				if n := pinned(&q); n > 2*q.len()+3*outChunk {
					t.Fatalf("after run %d: the queue's chunks hold %d bytes for %d queued", r, n, q.len())
				}
				if q.msgs() != took-wrote {
					t.Fatalf("after run %d: %d messages queued, want %d", r, q.msgs(), took-wrote)
				}
				if tt.drain > 0 && r%tt.drain == 0 {
					out, n := drain(&q, pool)
					got, wrote = append(got, out...), wrote+n
				}
				if all.len() > 4*outChunk {
					drain(&all, pool)
				}
			}
			if tt.takes(-1) && q.fill != nil {
				t.Fatal("a queue taking every run copied some")
			}
			out, n := drain(&q, pool)
			got, wrote = append(got, out...), wrote+n
			drain(&all, pool)
			if !bytes.Equal(got, want) || wrote != took {
				t.Fatalf("the queue wrote %d bytes in %d messages, want %d in %d", len(got), wrote, len(want), took)
			}
			if s.fill.refs != 1 || (s.prev != nil && s.prev.refs != 1) || len(s.held) != 0 {
				t.Fatalf("drained, the stream's chunks have %d and %v references, %d held, want only the stream's", s.fill.refs, s.prev, len(s.held))
			}
		})
	}
}
