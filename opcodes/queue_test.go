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
	for step := 7; q.len() > 0; step = step*2 + 1 {
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
