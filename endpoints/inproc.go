package endpoints

import (
	"sync/atomic"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/contract"
)

// An inproc endpoint is reached by Go code in the same process: each
// attach (InprocEndpoint.Attach) is one connection, accepted by the
// endpoint as a listener accepts a socket, and read and written by the
// loops through the same program as any other. Its descriptors are
// virtual (completion.Pipe): bounded rings in memory, no kernel object.
type InprocEndpoint struct {
	base
	queue int
	ln    atomic.Pointer[completion.Listener] // while listening
}

// Defaults and bounds of queue, the bytes an attach's ring holds each way.
const (
	DefaultInprocQueue = 64 << 10
	minInprocQueue     = 4 << 10
	maxInprocQueue     = 64 << 20
)

func newInproc(p Params) Endpoint {
	if _, ok := p.String("framing"); ok {
		p.Errorf("framing", "an inproc endpoint carries whole messages, every part: framing does not apply")
	}
	e := &InprocEndpoint{base: base{opts: parseSettings(withoutFraming{p})}, queue: DefaultInprocQueue}
	e.opts.Framing = Inproc
	parseListenLimits(p, contract.RoleListen, &e.opts)
	a := &e.opts.Admission
	if len(a.Allow) > 0 || len(a.Deny) > 0 {
		key := "allow"
		if len(a.Allow) == 0 {
			key = "deny"
		}
		p.Errorf(key, "%s judges peers' addresses: an inproc endpoint's peers have none", key)
	}
	if n, ok := p.Size("queue"); ok {
		if n < minInprocQueue || n > maxInprocQueue {
			p.Errorf("queue", "queue must be between 4KiB and 64MiB")
		} else {
			e.queue = int(n)
		}
	}
	return e
}

// withoutFraming hides framing: from parseSettings (newInproc reports it).
type withoutFraming struct{ Params }

func (w withoutFraming) String(key string) (string, bool) {
	if key == "framing" {
		return "", false
	}
	return w.Params.String(key)
}

func (e *InprocEndpoint) Kind() string        { return "inproc" }
func (e *InprocEndpoint) Role() contract.Role { return contract.RoleListen }
func (e *InprocEndpoint) Readable() bool      { return true }
func (e *InprocEndpoint) Writable() bool      { return true }
func (e *InprocEndpoint) String() string      { return "inproc" }

// Queue is what each attach's ring holds, each way, in bytes.
func (e *InprocEndpoint) Queue() int { return e.queue }

// Listen makes the virtual listener attaches dial.
func (e *InprocEndpoint) Listen() (int, error) {
	ln, err := completion.Listen(e.queue)
	if err != nil {
		return -1, err
	}
	e.ln.Store(ln)
	return ln.FD(), nil
}

// Release closes an attach's descriptor, or the listener's: attaches
// made after that fail, and those not yet accepted are closed.
func (e *InprocEndpoint) Release(fd int) error {
	if ln := e.ln.Load(); ln != nil && ln.FD() == fd {
		e.ln.CompareAndSwap(ln, nil)
	}
	return completion.Close(fd)
}

// Attach makes one connection to the endpoint for Go code: the router
// accepts it on one of its loops. It fails while the endpoint is not
// listening (not started, stopped, or replaced by a reload).
func (e *InprocEndpoint) Attach() (*completion.Pipe, error) {
	ln := e.ln.Load()
	if ln == nil {
		return nil, completion.ErrListenerClosed
	}
	return ln.Dial()
}

// Listening reports whether Attach can succeed now.
func (e *InprocEndpoint) Listening() bool { return e.ln.Load() != nil }
