package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
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
	// Admin is the admin HTTP endpoint's address; the topology's admin:.
	// Like admin:, it must be loopback unless AdminPublic is set.
	Admin       string
	AdminPublic bool
	// AdminTokenFile holds the bearer token every admin request must
	// carry; the topology's admin_token_file. Required with AdminPublic.
	AdminTokenFile string
}

// Router runs one topology on one set of loops (an opcodes.Host) for its
// whole life. A reload replaces the parts that changed and leaves the rest
// running: each generation of changed parts is a runtime (unit) of its own
// on the same loops, beside the older ones.
type Router struct {
	topo   *topology.Compiled // the current topology, whole
	source []byte             // its text, when it came from a file or bytes
	path   string             // the file it came from; "" if none
	opts   Options
	log    *slog.Logger
	loops  int

	reloadMu sync.Mutex // serialises Reload and Stop
	mu       sync.Mutex
	units    []*unit
	gone     statsSum // final figures of retired units, dropped once exited
	engine   string
	host     *opcodes.Host // the loops every unit runs on
	stopping bool
	done     chan struct{} // closed once stopped, or when a loop failed
	doneOnce sync.Once
	idle     chan struct{}
	changed  chan struct{} // closed (and replaced) by each reload

	admin     *http.Server
	adminLn   net.Listener
	listeners map[string]bool // endpoints that ever listened (listeners.go)

	// origin is this router's id, the same across reloads: what its
	// nats endpoints publish carries it with the endpoint's name, so
	// that what comes back is dropped (endpoints.Origined).
	origin string
}

// unit is one runtime and the components of the topology it still serves.
type unit struct {
	comp    *topology.Compiled
	rt      *opcodes.Runtime
	serving map[string]bool // Sig of each component it runs
	retired bool            // serves nothing any more: being stopped
}

// Load reads, checks and compiles the topology file at path. Reload reads
// it again.
func Load(path string, opts Options) (*Router, error) {
	data, err := topology.ReadFile(path) // stops at the size cap
	if err != nil {
		return nil, err
	}
	r, err := LoadBytes(path, data, opts)
	if err != nil {
		return nil, err
	}
	r.path = path
	return r, nil
}

// LoadBytes compiles a topology held in memory; name labels its errors.
func LoadBytes(name string, data []byte, opts Options) (*Router, error) {
	c, err := topology.Load(name, data)
	if err != nil {
		return nil, err
	}
	r := New(c, opts)
	r.source = data
	return r, nil
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
	return &Router{topo: c, opts: opts, log: log, loops: loops, origin: endpoints.NewOrigin()}
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
// KernelTLSUnavailable says why TLS connections in this process cannot
// hand their records to the kernel (nil: they can, for the suites the
// kernel takes): probed once, as an endpoint's "tls records" log line at
// start says.
func KernelTLSUnavailable() error { return endpoints.KernelTLSUnavailable() }

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
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	r.mu.Lock()
	started := r.done != nil
	r.mu.Unlock()
	if started {
		return errors.New("router: already started")
	}
	newPort, engine, err := r.portFactory()
	if err != nil {
		return err
	}
	admin, err := r.adminSettings(r.topo)
	if err != nil {
		return err
	}
	host, err := opcodes.NewHost(r.loops, newPort, r.log)
	if err != nil {
		return err
	}
	r.host, r.engine = host, engine
	host.SetBusyPoll(r.topo.BusyPoll)
	u, err := r.startUnit(r.topo, r.topo.Topology.Components())
	if err != nil {
		host.Close()
		return err
	}
	r.mu.Lock()
	r.units = []*unit{u}
	r.done, r.idle, r.changed = make(chan struct{}), make(chan struct{}), make(chan struct{})
	r.mu.Unlock()
	r.log.Info("started", "topology", r.topo.File, "engine", engine, "loops", r.loops, "busy_poll", r.topo.BusyPoll)
	r.logWarnings(r.topo)
	r.logListening(u)
	if admin.addr != "" {
		if err := r.startAdmin(admin); err != nil {
			r.stop(0)
			return err
		}
	}
	go r.watchIdle()
	go r.watchHost()
	if ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				r.Stop()
			case <-r.done:
			}
		}()
	}
	return nil
}

// adminAddr is the admin address the options or else c ask for.
func (r *Router) adminAddr(c *topology.Compiled) (string, bool) {
	if r.opts.Admin != "" {
		return r.opts.Admin, r.opts.AdminPublic
	}
	if c.Topology != nil {
		return c.Admin, c.Topology.AdminPublic
	}
	return c.Admin, false
}

// startUnit prepares c's endpoints and runs c as a runtime of its own on
// the router's loops, serving comps.
func (r *Router) startUnit(c *topology.Compiled, comps []topology.Component) (*unit, error) {
	var errs []error
	for i, e := range c.Endpoints {
		if l, ok := e.(endpoints.Logged); ok {
			l.SetLogger(r.log.With("endpoint", c.Prog.Endpoints[i])) // its lines name it as the topology does
		}
		if o, ok := e.(endpoints.Origined); ok {
			o.SetOrigin(r.origin, c.Prog.Endpoints[i])
		}
		if res, ok := e.(endpoints.Resolver); ok {
			if err := res.Resolve(); err != nil {
				errs = append(errs, c.StartError(i, err))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	r.markListeners(c)
	rt, err := opcodes.Start(opcodes.Config{
		Prog:      c.Prog,
		Endpoints: c.Openers(),
		Settings:  c.Settings(),
		Host:      r.host,
		Log:       r.log,
	})
	if err != nil {
		return nil, err
	}
	u := &unit{comp: c, rt: rt, serving: map[string]bool{}}
	for _, comp := range comps {
		u.serving[comp.Sig] = true
	}
	return u, nil
}

// watchHost ends the router if a loop stops without being asked (it
// failed): one goroutine for the router's life, not one per unit.
func (r *Router) watchHost() {
	select {
	case <-r.host.Broken():
		r.log.Error("a loop stopped on its own; stopping the router")
		r.Stop()
	case <-r.Done():
	}
}

// watchIdle closes Idle once every unit has nothing left to do, looking
// again whenever a reload changes the units.
func (r *Router) watchIdle() {
	for {
		r.mu.Lock()
		units, changed, done := append([]*unit(nil), r.units...), r.changed, r.done
		r.mu.Unlock()
		all := true
		for _, u := range units {
			select {
			case <-u.rt.Idle():
			case <-changed:
				all = false
			case <-done:
				return
			}
			if !all {
				break
			}
		}
		if !all {
			continue
		}
		select {
		case <-changed:
			continue // a reload came while the units went idle
		default:
		}
		close(r.idle)
		return
	}
}

// Warnings are what `pxroute check` prints of the loaded topology besides
// errors: settings that load but deserve a word (TLS verification off, a
// certificate expired or not yet valid), each "FILE:LINE:COL: warning:
// endpoint NAME: what".
func (r *Router) Warnings() []string {
	if r.topo.Topology == nil {
		return nil
	}
	return r.topo.Topology.Warnings()
}

// logWarnings logs c's warnings, at start and at each reload.
func (r *Router) logWarnings(c *topology.Compiled) {
	if c.Topology == nil {
		return
	}
	for _, w := range c.Topology.Warnings() {
		r.log.Warn(w)
	}
}

func (r *Router) logListening(u *unit) {
	for i, name := range u.comp.Prog.Endpoints {
		if b, ok := u.comp.Endpoints[i].(endpoints.Bound); ok && b.BoundAddr() != "" {
			r.log.Info("listening", "endpoint", name, "kind", u.comp.Endpoints[i].Kind(), "addr", b.BoundAddr())
		}
		// Where its TLS records are sealed, and why: never silent about
		// a connection that cannot go to the kernel.
		if p, ok := u.comp.Endpoints[i].(endpoints.RecordPather); ok && p.RecordPath() != "" {
			r.log.Info("tls records", "endpoint", name, "path", p.RecordPath())
		}
	}
}

// Reopen reopens every file endpoint being written, at its path, for log
// rotation; connections and queues are untouched.
func (r *Router) Reopen() error {
	var errs []error
	for _, u := range r.liveUnits() {
		for i, e := range u.comp.Endpoints {
			if ro, ok := e.(endpoints.Reopener); ok {
				if err := ro.Reopen(); err != nil {
					errs = append(errs, fmt.Errorf("endpoint %s: %w", u.comp.Prog.Endpoints[i], err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func (r *Router) liveUnits() []*unit {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*unit
	for _, u := range r.units {
		if !u.retired {
			out = append(out, u)
		}
	}
	return out
}

// Addr returns the address endpoint name listens on, with port 0 resolved;
// empty if it is not a started listener. After a reload it is the newest
// unit's.
func (r *Router) Addr(name string) string {
	units := r.liveUnits()
	for k := len(units) - 1; k >= 0; k-- {
		u := units[k]
		for i, n := range u.comp.Prog.Endpoints {
			if n != name {
				continue
			}
			if b, ok := u.comp.Endpoints[i].(endpoints.Bound); ok && b.BoundAddr() != "" {
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
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	return r.stop(drain)
}

func (r *Router) stop(drain time.Duration) error {
	r.mu.Lock()
	if r.done == nil {
		r.mu.Unlock()
		return nil
	}
	r.stopping = true
	units := append([]*unit(nil), r.units...)
	r.mu.Unlock()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(units))
	for i, u := range units {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = u.rt.Stop(drain)
		}()
	}
	wg.Wait()
	// Every unit has left the loops; a loop's failure is in their errors
	// already.
	if err := r.host.Close(); errors.Join(errs...) == nil {
		errs = append(errs, err)
	}
	waitLingering(units)
	r.stopAdmin()
	s := r.Stats()
	var received, delivered, lost, dropped uint64
	for _, e := range s.Endpoints {
		received += e.MsgsIn
		delivered += e.MsgsOut
		lost += e.Drops[opcodes.DropShutdown.String()] + e.Lost[opcodes.DropShutdown.String()]
		for reason, n := range e.Drops {
			dropped += n + e.Lost[reason]
		}
	}
	// Each endpoint that lost messages, and why; then one line: what came
	// in, what went out, what the stop cut off, and every drop of the run
	// by any reason (shutdown included), at warn if there were any.
	logLosses(r.log, s)
	level := slog.LevelInfo
	if dropped > 0 {
		level = slog.LevelWarn
	}
	r.log.Log(context.Background(), level, "stopped", "received", received, "delivered", delivered, "undelivered", lost, "dropped", dropped, "drained_in", time.Since(start).Round(time.Millisecond))
	r.doneOnce.Do(func() { close(r.done) })
	return errors.Join(errs...)
}

// waitLingering waits for what endpoints released in the background
// (exec children, SIGKILLed after their kill_timeout) to end.
func waitLingering(units []*unit) {
	for _, u := range units {
		for _, e := range u.comp.Endpoints {
			if l, ok := e.(endpoints.Lingering); ok {
				l.WaitReleased()
			}
		}
	}
}

// Stats returns the router's current figures (zero before Start), summed
// by endpoint name and by loop index over the runtimes a reload left side
// by side, and over those it retired (see retired.go).
func (r *Router) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.units) == 0 && r.gone.s.Engine == "" {
		return Stats{}
	}
	var sum statsSum
	for _, u := range r.units {
		sum.add(statsOf(u.rt.Stats()))
	}
	sum.add(r.gone.s)
	sum.s.Generations = len(r.units)
	// The loops' own figures cover every unit they ran, retired or not.
	for _, l := range r.host.LoopStats() {
		if l.ID < len(sum.s.Loops) {
			o := &sum.s.Loops[l.ID]
			o.Completions, o.Mail, o.Wakeups, o.BusyPolls, o.InboxDepth = l.Completions, l.Mail, l.Wakeups, l.BusyPolls, l.InboxDepth
		}
	}
	r.dropNonListenerRefusals(&sum.s)
	r.certificateExpiries(&sum.s)
	return sum.s
}

// Idle is closed when the topology has nothing left to do: no listener,
// no connection, no pending reconnect (a file copied to stdout, say).
// It is nil before Start.
func (r *Router) Idle() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.idle
}

// Done is closed once the router has stopped. It is nil before Start.
func (r *Router) Done() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done
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
		o := e.Settings()
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
