package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints"
)

// InprocEndpoint is Go's way into an inproc endpoint: each Attach is one
// connection, which joins the endpoint's routes as a socket would.
type InprocEndpoint struct {
	r    *Router
	name string
}

// Inproc returns the inproc endpoint name, for Go code to attach to. The
// name is looked up at each Attach, so a handle taken before Start or
// kept across reloads attaches to whichever generation serves it then.
func (r *Router) Inproc(name string) *InprocEndpoint { return &InprocEndpoint{r: r, name: name} }

// Errors an attach's calls return.
var (
	// ErrClosed: the connection was closed, by Close or by the router.
	ErrClosed = completion.ErrPipeClosed
	// ErrTooLarge: the message is over the endpoint's max_frame, or one
	// of its parts over the 2GiB-1 bytes a part may hold.
	ErrTooLarge = errors.New("message over the endpoint's max_frame")
)

// Attach makes a connection to the endpoint. The router accepts it on one
// of its loops (max_conns and accept_rate apply; one refused is closed,
// and its first Recv says so). It costs no goroutine: the connection's
// bytes move through two bounded rings of the endpoint's queue: size.
func (e *InprocEndpoint) Attach() (*InprocConn, error) {
	c, err := e.attach()
	if errors.Is(err, completion.ErrListenerClosed) {
		// A reload that replaces the endpoint retires the old generation
		// before it starts the new one: in between, nothing listens.
		// Wait for the reload (or a stop) under way to finish, then look
		// again; before Start and after Stop this does not wait.
		e.r.reloadMu.Lock()
		e.r.reloadMu.Unlock()
		c, err = e.attach()
	}
	return c, err
}

func (e *InprocEndpoint) attach() (*InprocConn, error) {
	ep, err := e.find()
	if err != nil {
		return nil, err
	}
	p, err := ep.Attach()
	if err != nil {
		return nil, fmt.Errorf("inproc endpoint %q: %w", e.name, err)
	}
	return &InprocConn{p: p, maxFrame: ep.Settings().MaxFrame}, nil
}

// find returns the endpoint as the newest live generation serves it.
func (e *InprocEndpoint) find() (*endpoints.InprocEndpoint, error) {
	units := e.r.liveUnits()
	var kind string
	for k := len(units) - 1; k >= 0; k-- {
		u := units[k]
		for i, n := range u.comp.Prog.Endpoints {
			if n != e.name {
				continue
			}
			ep, ok := u.comp.Endpoints[i].(*endpoints.InprocEndpoint)
			if !ok {
				kind = u.comp.Endpoints[i].Kind()
				continue
			}
			if ep.Listening() {
				return ep, nil
			}
		}
	}
	if kind != "" {
		return nil, fmt.Errorf("endpoint %q is a %s endpoint, not inproc", e.name, kind)
	}
	e.r.mu.Lock()
	topo := e.r.topo // a reload replaces it
	e.r.mu.Unlock()
	for i, n := range topo.Prog.Endpoints {
		if n == e.name {
			if k := topo.Endpoints[i].Kind(); k != "inproc" {
				return nil, fmt.Errorf("endpoint %q is a %s endpoint, not inproc", e.name, k)
			}
			return nil, fmt.Errorf("inproc endpoint %q: %w", e.name, completion.ErrListenerClosed)
		}
	}
	return nil, fmt.Errorf("no endpoint %q in the topology", e.name)
}

// Handle attaches and calls fn with each message until ctx ends, the
// router closes the connection (nil), or fn returns an error (that
// error); then it closes the connection. fn runs on the caller's
// goroutine, never on a loop: a slow fn fills its own queue, and then the
// route's overflow policy applies to it alone.
func (e *InprocEndpoint) Handle(ctx context.Context, fn func(c *InprocConn, msg Message) error) error {
	c, err := e.Attach()
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Handle(ctx, func(msg Message) error { return fn(c, msg) })
}

// Serve attaches as a request worker: each request's reply is what fn
// returns, sent back in order. It returns as Handle does.
func (e *InprocEndpoint) Serve(ctx context.Context, fn func(req Message) Message) error {
	return e.Handle(ctx, func(c *InprocConn, req Message) error {
		return c.Send(ctx, fn(req)...)
	})
}

// Message is a message's parts, in order: one for most framings, several
// for multipart ones.
type Message [][]byte

// Clone copies the message out of the buffer Recv lent it from.
func (m Message) Clone() Message {
	n := 0
	for _, p := range m {
		n += len(p)
	}
	buf := make([]byte, 0, n)
	out := make(Message, len(m))
	for i, p := range m {
		buf = append(buf, p...)
		out[i] = buf[len(buf)-len(p) : len(buf) : len(buf)]
	}
	return out
}

// InprocConn is one attach: Send puts messages into the routes the
// endpoint is a source of; Recv takes what they deliver to it. Send and
// Recv may be used from different goroutines at once; each is serialised
// with itself.
type InprocConn struct {
	p        *completion.Pipe
	maxFrame int

	sendMu sync.Mutex
	hdrs   []byte
	segs   [][]byte

	recvMu sync.Mutex
	rb     []byte // bytes read, rb[at:] not yet returned
	at     int
	lent   int // bytes of the ring the last message was lent from
	parts  []contract.Part
	msg    Message
}

// Send queues a message of one or more parts (none: one empty part) for
// the router to read. It waits while the connection's queue is full: with
// overflow: block downstream, that is until the destinations drain, or
// ctx ends (nothing of the message is sent then). A message larger than
// the queue is written in pieces, so a ctx ending part way closes the
// connection, as the router could not tell where the next one begins.
func (c *InprocConn) Send(ctx context.Context, parts ...[]byte) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if len(parts) == 0 {
		parts = noParts[:]
	}
	for _, p := range parts {
		// Its header holds 31 bits of length, whatever max_frame allows.
		if len(p) > endpoints.InprocMaxPart {
			return fmt.Errorf("%w: a part of %d bytes, over the %d one part may hold", ErrTooLarge, len(p), endpoints.InprocMaxPart)
		}
	}
	c.hdrs, c.segs = endpoints.EncodeInproc(c.hdrs[:0], c.segs[:0], parts)
	total := len(c.hdrs)
	for _, p := range parts {
		total += len(p)
	}
	if total > c.maxFrame {
		clear(c.segs) // hold no reference to the caller's parts
		return fmt.Errorf("%w: %d bytes with headers, max_frame %d", ErrTooLarge, total, c.maxFrame)
	}
	n, err := c.p.Write(ctx, c.segs)
	clear(c.segs) // hold no reference to the caller's parts
	if err != nil && n > 0 {
		c.p.Close()
		return fmt.Errorf("%w; the connection is closed: %d of its %d bytes were sent", err, n, total)
	}
	return err
}

// noParts is a message of no parts sent as one empty part.
var noParts = [1][]byte{}

// Recv returns the next message the router delivered to this
// connection, waiting for one until ctx ends. Its parts are lent: valid
// until the next Recv (Clone keeps them). After the router closes the
// connection and everything it sent has been read, Recv returns io.EOF.
//
// A message that lies whole in the ring is lent from there, not copied:
// the ring keeps it until the next Recv. One that wraps the ring's end,
// or is larger than the ring, is gathered in the connection's own buffer.
func (c *InprocConn) Recv(ctx context.Context) (Message, error) {
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	if c.p.Closed() {
		return nil, ErrClosed // what was read ahead is discarded with the rest
	}
	if c.lent > 0 { // the last message, lent from the ring, is done with
		c.p.Discard(c.lent)
		c.lent = 0
	}
	for {
		if c.at < len(c.rb) { // a message begun in the buffer ends there
			wire, err := c.split(c.rb[c.at:])
			if err != nil || wire > 0 {
				c.at += wire
				return c.msg, err
			}
		} else if b := c.p.Peek(); len(b) > 0 {
			wire, err := c.split(b)
			if err != nil || wire > 0 {
				c.lent = wire
				return c.msg, err
			}
		} else if err := c.p.Wait(ctx); err != nil {
			return nil, err
		} else {
			continue // peek at what came
		}
		if err := c.fill(ctx); err != nil {
			if err == io.EOF && c.at < len(c.rb) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// split frames the message at the start of b into c.msg, its parts
// slices of b; wire 0: b holds only part of it.
func (c *InprocConn) split(b []byte) (wire int, err error) {
	wire, c.parts, err = endpoints.InprocParts.SplitParts(b, 1<<62, c.parts[:0])
	if wire == 0 || err != nil {
		return 0, err
	}
	c.msg = c.msg[:0]
	for _, pt := range c.parts {
		c.msg = append(c.msg, b[pt.Lo:pt.Hi:pt.Hi])
	}
	return wire, nil
}

// fill reads more of what the router wrote, keeping the part of a
// message already read.
func (c *InprocConn) fill(ctx context.Context) error {
	left := len(c.rb) - c.at
	size := max(c.p.Size(), 2*left)
	if cap(c.rb) < size || (cap(c.rb) > 4*c.p.Size() && left < c.p.Size()) {
		nb := make([]byte, left, size) // grown for a large message, or shrunk after one
		copy(nb, c.rb[c.at:])
		c.rb = nb
	} else {
		c.rb = c.rb[:copy(c.rb, c.rb[c.at:])]
	}
	c.at = 0
	n, err := c.p.Read(ctx, c.rb[left:cap(c.rb)])
	c.rb = c.rb[:left+n]
	return err
}

// Handle calls fn with each message until ctx ends, the router closes the
// connection (nil), or fn returns an error (that error).
func (c *InprocConn) Handle(ctx context.Context, fn func(msg Message) error) error {
	for {
		msg, err := c.Recv(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(msg); err != nil {
			return err
		}
	}
}

// CloseSend ends this connection's input to the router, as a half-close
// does: the router reads what was sent, then end of stream. Recv goes on.
func (c *InprocConn) CloseSend() { c.p.CloseWrite() }

// Close closes the connection: what was sent still reaches the router,
// what it had delivered and Recv had not taken is discarded, and waiting
// Send and Recv calls return ErrClosed.
func (c *InprocConn) Close() error {
	c.p.Close()
	return nil
}
