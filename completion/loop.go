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
	// Orphan handles an item posted before the loop finished that Mail
	// did not take: the handler must count or release it.
	Orphan(m any)
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
	vport *virtualPort // Port: the engine's, serving virtual descriptors too
	inbox Inbox
	// sleeping is set while the loop may block in Wait, so that a Post
	// writes the eventfd only when the loop could miss the item.
	sleeping atomic.Bool
	comps    []Completion
	mail     []any
	stats    LoopStats
	busyPoll atomic.Int64 // nanoseconds; SetBusyPoll
	lastWork int64        // monotonic nanoseconds of the last turn with work
}

// LoopStats are a loop's own counters, readable from any goroutine.
type LoopStats struct {
	Completions atomic.Uint64 // completions handled
	Mail        atomic.Uint64 // inbox items handled
	Wakeups     atomic.Uint64 // times Wait returned after blocking
	BusyPolls   atomic.Uint64 // waits that polled without sleeping (SetBusyPoll)
}

// NewLoop makes a loop; Serve gives it its port.
func NewLoop(id int) *Loop {
	return &Loop{ID: id, comps: make([]Completion, 0, 256)}
}

// Post queues m for the loop's handler and reports true; safe from any
// goroutine, lock-free. It reports false once the loop has finished: the
// caller then still owns m (a message it must count, a descriptor it must
// close).
func (l *Loop) Post(m any) bool {
	if !l.inbox.Push(m) {
		return false
	}
	if l.sleeping.CompareAndSwap(true, false) {
		_ = l.Port.Wake()
	}
	return true
}

// postNode is Post of a note's own node.
func (l *Loop) postNode(n *inboxNode) bool {
	if !l.inbox.pushNode(n) {
		return false
	}
	if l.sleeping.CompareAndSwap(true, false) {
		_ = l.Port.Wake()
	}
	return true
}

// InboxDepth is the number of items waiting in the inbox.
func (l *Loop) InboxDepth() int64 { return l.inbox.Depth() }

// Stats returns the loop's counters.
func (l *Loop) Stats() *LoopStats { return &l.stats }

// Serve locks the calling goroutine to its thread, opens the loop's port
// there (an io_uring made with SINGLE_ISSUER belongs to the thread that
// made it), calls ready with it (or with the error), and serves h until
// h.Done. The port is closed on the same thread before Serve returns. The
// thread stays locked, so it ends with the goroutine: Go never ends an idle
// thread, and a reload's retired loops would otherwise stay in its pool.
func (l *Loop) Serve(open func() (Port, error), ready func(Port, error), h Handler) error {
	runtime.LockOSThread() // never unlocked: the thread ends with the loop
	p, err := open()
	if err != nil {
		ready(nil, err)
		return err
	}
	l.vport = newVirtualPort(p, l)
	l.Port = l.vport
	ready(l.Port, nil)
	err = l.run(h)
	// Whatever was posted meanwhile is the handler's to account for; later
	// posts are refused to their senders.
	for _, m := range l.inbox.Close(l.mail[:0]) {
		if !isVirtualNote(m) {
			h.Orphan(m)
		}
	}
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	return err
}

func (l *Loop) run(h Handler) error {
	for !h.Done() {
		l.mail = l.inbox.Drain(l.mail[:0])
		for i, m := range l.mail {
			if isVirtualNote(m) {
				l.vport.takeNote(m) // a Pipe or Listener whose Go side moved
			} else {
				h.Mail(m)
			}
			l.mail[i] = nil
		}
		l.stats.Mail.Add(uint64(len(l.mail)))
		h.Turn()
		if h.Done() {
			return nil
		}
		var err error
		if l.polling(len(l.mail) > 0) {
			// Awake: a Post sees sleeping false and writes no eventfd.
			l.comps, err = l.Port.Wait(l.comps[:0], false)
			l.stats.BusyPolls.Add(1)
			if len(l.comps) == 0 {
				yieldCPU()
			}
		} else {
			// Announce the nap, then look once more: a Post that raced
			// with us either is seen here or sees sleeping and wakes the
			// port.
			l.sleeping.Store(true)
			block := l.inbox.Empty()
			l.comps, err = l.Port.Wait(l.comps[:0], block)
			l.sleeping.Store(false)
			if block {
				l.stats.Wakeups.Add(1)
			}
		}
		if err != nil {
			return err
		}
		if len(l.comps) > 0 {
			l.worked()
		}
		for i := range l.comps {
			h.Complete(&l.comps[i])
		}
		l.stats.Completions.Add(uint64(len(l.comps)))
	}
	return nil
}

func isVirtualNote(m any) bool {
	switch m.(type) {
	case *Pipe, *Listener:
		return true
	}
	return false
}
