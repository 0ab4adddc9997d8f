package opcodes

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// dropModel is what a queue must hold: whole messages, the first maybe
// partly written.
type dropModel struct {
	msgs    [][]byte
	written int // bytes of msgs[0] written
}

func (m *dropModel) bytes() int {
	n := -m.written
	for _, b := range m.msgs {
		n += len(b)
	}
	return n
}

// TestOutQueueDropOldestMatchesModel runs random pushes, partial writes and
// drops (with random bytes in flight) against a model of the queue: the
// messages dropped are exactly the oldest no write has started on, and
// what is written is the rest, in order, byte for byte — across chunk
// boundaries, inside one shared segment and behind a write under way.
func TestOutQueueDropOldestMatchesModel(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			pool := &chunkPool{max: 64}
			var q outQueue
			var model dropModel
			var got, want []byte
			next := byte(0)
			for step := range 3000 {
				switch op := rng.IntN(10); {
				case op < 5: // push
					size := 1 + rng.IntN(100)
					if rng.IntN(20) == 0 {
						size = 1 + rng.IntN(3*outChunk)
					}
					msg := bytes.Repeat([]byte{next}, size)
					next++
					q.push(pool, [][]byte{msg})
					model.msgs = append(model.msgs, msg)
				case op < 7: // write some
					if q.len() == 0 {
						continue
					}
					n := 1 + rng.IntN(q.len())
					var w []byte
					for _, b := range q.iov(nil) {
						w = append(w, b...)
					}
					got = append(got, w[:n]...)
					done := q.consume(pool, n)
					model.written += n
					k := 0
					for len(model.msgs) > 0 && model.written >= len(model.msgs[0]) {
						want = append(want, model.msgs[0]...)
						model.written -= len(model.msgs[0])
						model.msgs = model.msgs[1:]
						k++
					}
					if !bytes.Equal(got[:len(want)], want) {
						t.Fatalf("step %d: stream differs after a write", step)
					}
					if done != k {
						t.Fatalf("step %d: write completed %d messages, want %d", step, done, k)
					}
				default: // drop
					inflight := 0
					if q.len() > 0 && rng.IntN(2) == 0 {
						inflight = rng.IntN(q.len() + 1)
					}
					keepBytes, keepMsgs := rng.IntN(model.bytes()+1), rng.IntN(len(model.msgs)+1)
					n, b := q.dropOldest(pool, inflight, keepBytes, keepMsgs)
					// The model: skip started messages, drop until it fits.
					i, pos := 0, -model.written
					for i < len(model.msgs) && pos < inflight && !(i == 0 && model.written == 0 && inflight == 0) {
						pos += len(model.msgs[i])
						i++
					}
					if i == 0 && model.written > 0 {
						i = 1
					}
					j, total, cut := i, model.bytes(), 0
					for j < len(model.msgs) && (total-cut > keepBytes || len(model.msgs)-(j-i) > keepMsgs) {
						cut += len(model.msgs[j])
						j++
					}
					if n != j-i || b != cut {
						t.Fatalf("step %d: dropped %d messages (%d bytes), want %d (%d bytes)", step, n, b, j-i, cut)
					}
					model.msgs = append(model.msgs[:i], model.msgs[j:]...)
				}
				if q.len() != model.bytes() || q.msgs() != len(model.msgs) {
					t.Fatalf("step %d: queue holds %d bytes in %d messages, want %d in %d", step, q.len(), q.msgs(), model.bytes(), len(model.msgs))
				}
			}
			rest, _ := drain(&q, pool)
			got = append(got, rest...)
			for _, m := range model.msgs {
				want = append(want, m...) // got holds the first one's written bytes already
			}
			if !bytes.Equal(got, want) {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Fatalf("stream differs: %d bytes, want %d; first difference at %d (%d left in the model, %d of its first written)", len(got), len(want), i, len(model.msgs), model.written)
			}
		})
	}
}

// BenchmarkDropOldest is a subscriber over its mark under drop-oldest: a
// write under way holds the queue as it was, and each new message drops
// the oldest one not in it. Issue 16 defect 3: each drop cost a scan of the
// queue (51.9 s CPU for 3 M lines); the cost must not grow with the queue.
func BenchmarkDropOldest(b *testing.B) {
	for _, queued := range []int{1 << 10, 1 << 14, 1 << 17} {
		b.Run(fmt.Sprintf("queued=%d", queued), func(b *testing.B) {
			pool := &chunkPool{max: 512}
			var q outQueue
			msg := bytes.Repeat([]byte("x"), 63)
			for range queued {
				q.push(pool, [][]byte{msg})
			}
			inflight := q.len() // the write took everything queued
			keep := q.len()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				q.push(pool, [][]byte{msg})
				if n, _ := q.dropOldest(pool, inflight, keep, 1<<62); n != 1 {
					b.Fatalf("dropped %d", n)
				}
			}
		})
	}
}
