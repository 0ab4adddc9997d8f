package completion

import (
	"errors"
	"sync"
	"sync/atomic"
)

// Listener is a virtual listening descriptor: Dial makes a Pipe and puts
// its descriptor in the backlog, and the loop that armed Accept on the
// listener takes it as an accepted connection.
type Listener struct {
	fd    int
	size  int // each new pipe's ring size
	owner atomic.Pointer[Loop]
	// wants: the loop holds an armed accept and has taken the backlog
	// since it last heard of a dial: the next dial posts the listener.
	wants atomic.Bool

	mu      sync.Mutex
	backlog []*Pipe
	closed  bool

	// Owned by the loop.
	armed bool
	tok   uint64
}

// MaxBacklog bounds dials a listener holds before its loop takes them.
const MaxBacklog = 4096

// Errors from Dial.
var (
	ErrListenerClosed = errors.New("in-process endpoint is not accepting: not started, stopped or reloaded away")
	ErrBacklogFull    = errors.New("in-process endpoint's backlog is full: its loop is not accepting")
)

// Listen makes a virtual listener whose connections' rings hold size
// bytes each way (rounded up to a power of two, at least 4 KiB).
func Listen(size int) *Listener {
	l := &Listener{size: ringSize(size)}
	l.fd = register(l)
	return l
}

// FD is the virtual descriptor to arm Accept on.
func (l *Listener) FD() int { return l.fd }

// Dial makes a connection to the listener, for Go code to use. It fails
// once the listener is closed, or when MaxBacklog dials are waiting.
func (l *Listener) Dial() (*Pipe, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrListenerClosed
	}
	if len(l.backlog) >= MaxBacklog {
		l.mu.Unlock()
		return nil, ErrBacklogFull
	}
	p := newPipe(0, l.size)
	p.fd = register(p)
	l.backlog = append(l.backlog, p)
	l.mu.Unlock()
	if l.wants.Load() && l.wants.CompareAndSwap(true, false) {
		if o := l.owner.Load(); o != nil {
			o.Post(l)
		}
	}
	return p, nil
}

// take returns the backlog. Loop side.
func (l *Listener) take(dst []*Pipe) []*Pipe {
	l.mu.Lock()
	dst = append(dst, l.backlog...)
	clear(l.backlog)
	l.backlog = l.backlog[:0]
	l.mu.Unlock()
	return dst
}

// close refuses later dials and closes the pipes nobody accepted.
func (l *Listener) close() {
	l.mu.Lock()
	l.closed = true
	left := l.backlog
	l.backlog = nil
	l.mu.Unlock()
	for _, p := range left {
		p.loopClose()
		unregister(p.fd)
	}
}
