package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/endpoints"
	"github.com/pxroute/pxroute/opcodes"
	"github.com/pxroute/pxroute/topologies"
	"github.com/pxroute/pxroute/topology"
)

// Options override what the topology says; zero values keep it.
type Options struct {
	Loops  int          // event loops; the topology's loops:, else one per core
	Engine string       // auto, io_uring or epoll; the topology's engine:
	Logger *slog.Logger // where lifecycle and errors go; discarded if nil
}

// Stats is a snapshot of a running router's figures.
type Stats = opcodes.Stats

// Router runs one compiled topology.
type Router struct {
	topo   *topology.Compiled
	opts   Options
	log    *slog.Logger
	mu     sync.Mutex
	rt     *opcodes.Runtime
	engine string
	loops  int
}

// Load reads, checks and compiles the topology file at path.
func Load(path string, opts Options) (*Router, error) {
	c, err := topology.LoadFile(path)
	if err != nil {
		return nil, err
	}
	return New(c, opts), nil
}

// LoadBytes compiles a topology held in memory; name labels its errors.
func LoadBytes(name string, data []byte, opts Options) (*Router, error) {
	c, err := topology.Load(name, data)
	if err != nil {
		return nil, err
	}
	return New(c, opts), nil
}

// LoadDefault compiles the embedded default topology (a chat relay on
// 127.0.0.1:7000).
func LoadDefault(opts Options) (*Router, error) {
	data, err := DefaultTopology()
	if err != nil {
		return nil, err
	}
	return LoadBytes(topologies.Default, data, opts)
}

// DefaultTopology returns the embedded default topology's text.
func DefaultTopology() ([]byte, error) { return topologies.FS.ReadFile(topologies.Default) }

// New makes a router for a compiled topology, such as one built in Go with
// topology.Compile.
func New(c *topology.Compiled, opts Options) *Router {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	loops := opts.Loops
	if loops <= 0 {
		loops = c.Loops
	}
	if loops <= 0 {
		loops = runtime.NumCPU()
	}
	return &Router{topo: c, opts: opts, log: log, loops: loops}
}

// Program is the compiled program the loops run.
func (r *Router) Program() *opcodes.Prog { return r.topo.Prog }

// Loops is the number of event loops the router runs.
func (r *Router) Loops() int { return r.loops }

// EngineRequested is the engine asked for: the option, else the topology's.
func (r *Router) EngineRequested() string {
	if r.opts.Engine != "" {
		return r.opts.Engine
	}
	return r.topo.Engine
}

// ErrEngineUnavailable is returned when an explicitly requested engine
// cannot start here.
var ErrEngineUnavailable = errors.New("engine unavailable")

// portFactory resolves the engine name to a port constructor. auto takes
// io_uring where it works and says in one log line why not otherwise; an
// explicit io_uring that cannot start is an error, never a silent fallback.
func (r *Router) portFactory() (func() (completion.Port, error), string, error) {
	switch name := r.EngineRequested(); name {
	case "auto", "":
		if err := completion.UringUnavailable(); err != nil {
			r.log.Warn("io_uring unavailable, using epoll", "reason", err)
			return completion.NewEpoll, "epoll", nil
		}
		return completion.NewUring, "io_uring", nil
	case "epoll":
		return completion.NewEpoll, "epoll", nil
	case "io_uring":
		if err := completion.UringUnavailable(); err != nil {
			return nil, "", fmt.Errorf("%w: %v", ErrEngineUnavailable, err)
		}
		return completion.NewUring, "io_uring", nil
	default:
		return nil, "", fmt.Errorf("unknown engine %q: want auto, io_uring or epoll", name)
	}
}

// EngineUnavailable reports why engine cannot run on this machine, or nil.
// Only io_uring can be unavailable (old kernel, sysctl, seccomp).
func EngineUnavailable(engine string) error {
	switch engine {
	case "epoll", "auto", "":
		return nil
	case "io_uring":
		return completion.UringUnavailable()
	}
	return fmt.Errorf("unknown engine %q: want auto, io_uring or epoll", engine)
}

// ResolveEngine says which engine Start would use, probing io_uring for
// auto, without starting anything.
func (r *Router) ResolveEngine() (string, error) {
	_, engine, err := r.portFactory()
	return engine, err
}

// Start opens every listener and file and starts the loops. A listener
// that cannot bind (or a file that cannot open) fails Start, with nothing
// left running. When ctx ends the router stops as Stop does.
func (r *Router) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rt != nil {
		return errors.New("router: already started")
	}
	newPort, engine, err := r.portFactory()
	if err != nil {
		return err
	}
	var errs []error
	for i, e := range r.topo.Endpoints {
		if l, ok := e.(endpoints.Logged); ok {
			l.SetLogger(r.log)
		}
		if res, ok := e.(endpoints.Resolver); ok {
			if err := res.Resolve(); err != nil {
				errs = append(errs, fmt.Errorf("endpoint %s: %w", r.topo.Prog.Endpoints[i], err))
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	rt, err := opcodes.Start(opcodes.Config{
		Prog:      r.topo.Prog,
		Endpoints: r.topo.Bind(),
		Loops:     r.loops,
		NewPort:   newPort,
		Log:       r.log,
	})
	if err != nil {
		return err
	}
	r.rt, r.engine = rt, engine
	r.log.Info("started", "topology", r.topo.File, "engine", engine, "loops", r.loops)
	for i, name := range r.topo.Prog.Endpoints {
		if addr := r.Addr(name); addr != "" {
			r.log.Info("listening", "endpoint", name, "kind", r.topo.Endpoints[i].Kind(), "addr", addr)
		}
	}
	if ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				r.Stop()
			case <-rt.Exited():
			}
		}()
	}
	return nil
}

// Reopen reopens every file endpoint being written, at its path, for log
// rotation; connections and queues are untouched.
func (r *Router) Reopen() error {
	var errs []error
	for i, e := range r.topo.Endpoints {
		if ro, ok := e.(endpoints.Reopener); ok {
			if err := ro.Reopen(); err != nil {
				errs = append(errs, fmt.Errorf("endpoint %s: %w", r.topo.Prog.Endpoints[i], err))
			}
		}
	}
	return errors.Join(errs...)
}

// Addr returns the address endpoint name listens on, with port 0 resolved;
// empty if it is not a started listener.
func (r *Router) Addr(name string) string {
	for i, n := range r.topo.Prog.Endpoints {
		if n == name {
			if b, ok := r.topo.Endpoints[i].(endpoints.Bound); ok {
				return b.BoundAddr()
			}
		}
	}
	return ""
}

// Engine names the completion backend in use ("" before Start).
func (r *Router) Engine() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.engine
}

// Stop stops accepting and reading, gives queued messages up to the
// topology's drain_timeout to reach live sinks, then closes everything.
// Undelivered messages are counted as "shutdown" drops and logged in one
// summary line.
func (r *Router) Stop() error {
	return r.StopWithin(r.topo.DrainTimeout)
}

// StopWithin is Stop with an explicit drain deadline.
func (r *Router) StopWithin(drain time.Duration) error {
	r.mu.Lock()
	rt := r.rt
	r.mu.Unlock()
	if rt == nil {
		return nil
	}
	err := rt.Stop(drain)
	var lost uint64
	for _, e := range rt.Stats().Endpoints {
		lost += e.Drops[opcodes.DropShutdown.String()]
	}
	r.log.Info("stopped", "undelivered", lost)
	return err
}

// Stats returns the router's current figures (zero before Start).
func (r *Router) Stats() Stats {
	r.mu.Lock()
	rt := r.rt
	r.mu.Unlock()
	if rt == nil {
		return Stats{}
	}
	return rt.Stats()
}

// Idle is closed when the topology has nothing left to do: no listener,
// no connection, no pending reconnect (a file copied to stdout, say).
// It is nil before Start.
func (r *Router) Idle() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rt == nil {
		return nil
	}
	return r.rt.Idle()
}

// Done is closed once the router has stopped. It is nil before Start.
func (r *Router) Done() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rt == nil {
		return nil
	}
	return r.rt.Exited()
}

// Disasm writes the compiled program: a header naming the engine that
// would run it, each endpoint and group, then one instruction a line with
// its topology position.
func (r *Router) Disasm(w io.Writer) error {
	engine := r.EngineRequested()
	if got, err := r.ResolveEngine(); err != nil {
		engine += " (unavailable: " + err.Error() + ")"
	} else if got != engine {
		engine += " -> " + got
	}
	return Disasm(w, r.topo, engine)
}

// Disasm writes c's program with a header; engine is printed as given.
func Disasm(w io.Writer, c *topology.Compiled, engine string) error {
	p := c.Prog
	fmt.Fprintf(w, "; topology %s\n; engine %s\n; endpoints\n", c.File, engine)
	for i, name := range p.Endpoints {
		e := c.Endpoints[i]
		o := e.Options()
		fmt.Fprintf(w, ";   %d %s: %v (%s, max_frame %d, high_water %d)\n", i, name, e, o.Framing.Name(), o.MaxFrame, o.HighWater)
	}
	if len(p.Groups) > 0 {
		fmt.Fprintf(w, "; groups\n")
		for i, g := range p.Groups {
			fmt.Fprintf(w, ";   %d %s\n", i, g)
		}
	}
	return p.Disasm(w)
}
