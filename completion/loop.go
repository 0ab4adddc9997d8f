package completion

import (
	"runtime"
	"sync/atomic"
)

// Handler is what a Loop drives: the interpreter of one loop.
type Handler interface {
	// Complete handles one finished operation.
	Complete(c *Completion)
	// Mail handles one item another goroutine posted to the loop.
	Mail(m any)
	// Turn runs once an iteration, after the completions of the last wait
	// and the mail that came since.
	Turn()
	// Done reports that the loop should return.
	Done() bool
}

// Loop is one event loop: a goroutine locked to its OS thread that owns a
// Port and reads an Inbox. Loops never share ports, buffers or connections.
type Loop struct {
	ID    int
	Port  Port
	inbox Inbox
	// sleeping is set while the loop may block in Wait, so that a Post
	// writes the eventfd only when the loop could miss the item.
	sleeping atomic.Bool
	comps    []Completion
	mail     []any
	stats    LoopStats
}

// LoopStats are a loop's own counters, readable from any goroutine.
type LoopStats struct {
	Completions atomic.Uint64 // completions handled
	Mail        atomic.Uint64 // inbox items handled
	Wakeups     atomic.Uint64 // times Wait returned after blocking
}

// NewLoop makes a loop around port.
func NewLoop(id int, port Port) *Loop {
	return &Loop{ID: id, Port: port, comps: make([]Completion, 0, 256)}
}

// Post queues m for the loop's handler; safe from any goroutine, lock-free.
func (l *Loop) Post(m any) {
	l.inbox.Push(m)
	if l.sleeping.CompareAndSwap(true, false) {
		_ = l.Port.Wake()
	}
}

// InboxDepth is the number of items waiting in the inbox.
func (l *Loop) InboxDepth() int64 { return l.inbox.Depth() }

// Stats returns the loop's counters.
func (l *Loop) Stats() *LoopStats { return &l.stats }

// Run locks the calling goroutine to its thread and serves h until h.Done.
// It returns the first error the port reports.
func (l *Loop) Run(h Handler) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for !h.Done() {
		l.mail = l.inbox.Drain(l.mail[:0])
		for i, m := range l.mail {
			h.Mail(m)
			l.mail[i] = nil
		}
		l.stats.Mail.Add(uint64(len(l.mail)))
		h.Turn()
		if h.Done() {
			return nil
		}
		// Announce the nap, then look once more: a Post that raced with us
		// either is seen here or sees sleeping and wakes the port.
		l.sleeping.Store(true)
		block := l.inbox.Empty()
		var err error
		l.comps, err = l.Port.Wait(l.comps[:0], block)
		l.sleeping.Store(false)
		if err != nil {
			return err
		}
		if block {
			l.stats.Wakeups.Add(1)
		}
		for i := range l.comps {
			h.Complete(&l.comps[i])
		}
		l.stats.Completions.Add(uint64(len(l.comps)))
	}
	return nil
}
