package completion

import (
	"container/heap"
	"time"
)

type timer struct {
	when  time.Time
	token uint64
}

// timerHeap orders pending timers by deadline.
type timerHeap []timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].when.Before(h[j].when) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

func (h *timerHeap) add(d time.Duration, token uint64) {
	heap.Push(h, timer{when: time.Now().Add(d), token: token})
}

// expire appends a completion for every timer due by now.
func (h *timerHeap) expire(dst []Completion, now time.Time) []Completion {
	for h.Len() > 0 && !(*h)[0].when.After(now) {
		t := heap.Pop(h).(timer)
		dst = append(dst, Completion{Token: t.token, Kind: KindTimer})
	}
	return dst
}

// timeout returns the epoll_wait timeout in milliseconds: -1 for none.
func (h *timerHeap) timeout(now time.Time) int {
	if h.Len() == 0 {
		return -1
	}
	d := (*h)[0].when.Sub(now)
	if d <= 0 {
		return 0
	}
	ms := int((d + time.Millisecond - 1) / time.Millisecond)
	return ms
}
