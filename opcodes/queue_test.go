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
	if len(q.chunks) != 0 {
		t.Fatalf("%d blocks left after draining", len(q.chunks))
	}
	q.push(pool, [][]byte{[]byte("after")})
	q.reset(pool)
	if q.len() != 0 || q.msgs() != 0 || len(q.chunks) != 0 {
		t.Fatal("reset left something queued")
	}
}
