package opcodes

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/contract"
)

// Config is what Start needs.
type Config struct {
	Prog      *Prog
	Endpoints []contract.Endpoint // indexed like Prog.Endpoints: what opens each endpoint's descriptors
	Settings  []contract.Settings // indexed likewise: each endpoint's framing and limits
	// Host runs the program beside the others on it; nil: on loops of its
	// own, made from Loops and NewPort and closed by Stop.
	Host    *Host
	Loops   int // event loops, without a Host; 0 or less means 1
	NewPort func() (completion.Port, error)
	Log     *slog.Logger
}

// Runtime runs one program on the loops of a Host: one generation of it.
type Runtime struct {
	prog     *Prog
	eps      []contract.Endpoint
	set      []contract.Settings // per endpoint: the one table of its settings
	log      *slog.Logger
	engine   string
	host     *Host
	ownHost  bool         // made by Start: Stop closes it
	alive    atomic.Int32 // Machines not yet exited
	machines []*Machine
	members  []atomic.Int32 // [group*loops + loop]: members on each loop
	rooms    []roomNames    // per group: relay member names, unique over the loops
	// unions holds each group's subscriptions over its destinations, for
	// the sessions that feed it (upstream.go); nil where none could hear.
	unions []*topicUnion
	fanout []bool // per group: a fan-out's destinations (topics apply)
	// listenConns counts each listener's open connections over all
	// loops, for max_conns.
	listenConns []atomic.Int64
	// secureFails counts each endpoint's secured connections failed
	// since one succeeded: a log line an episode (secure.go).
	secureFails []atomic.Uint64
	// recordFails counts each endpoint's secured connections failed
	// after their handshake since one ended without failing: an episode
	// of its own, as a handshake that succeeds ends nothing (a peer that
	// completes one and then sends a bad record would log twice a
	// connection).
	recordFails []atomic.Uint64
	// sessionFails counts each endpoint's sessions failed since a
	// handshake last completed, over all loops: one log line an episode
	// (session.go).
	sessionFails []atomic.Uint64
	frIDs        []uint32     // per endpoint: its framing's index among distinct names
	live         atomic.Int64 // listeners, conns, pending starts and retries
	idle         chan struct{}
	idleOnce     sync.Once
	exited       chan struct{}
	errMu        sync.Mutex
	runErr       error
	stopOnce     sync.Once
}

// Start verifies the program, opens its listeners and files (so that a busy
// port or a missing file fails here, with nothing left running), and puts
// a Machine of it on each of the host's loops.
func Start(cfg Config) (*Runtime, error) {
	p := cfg.Prog
	if err := p.Verify(); err != nil {
		return nil, err
	}
	if len(cfg.Endpoints) != len(p.Endpoints) || len(cfg.Settings) != len(p.Endpoints) {
		return nil, fmt.Errorf("opcodes: %d endpoints and %d settings for a program that names %d", len(cfg.Endpoints), len(cfg.Settings), len(p.Endpoints))
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, own := cfg.Host, false
	if host == nil {
		var err error
		if host, err = NewHost(cfg.Loops, cfg.NewPort, log); err != nil {
			return nil, err
		}
		own = true
	}
	n := host.Loops()
	rt := &Runtime{
		prog:         p,
		eps:          cfg.Endpoints,
		set:          cfg.Settings,
		log:          log,
		host:         host,
		ownHost:      own,
		engine:       host.Engine(),
		members:      make([]atomic.Int32, len(p.Groups)*n),
		rooms:        make([]roomNames, len(p.Groups)),
		listenConns:  make([]atomic.Int64, len(cfg.Endpoints)),
		sessionFails: make([]atomic.Uint64, len(cfg.Endpoints)),
		secureFails:  make([]atomic.Uint64, len(cfg.Endpoints)),
		recordFails:  make([]atomic.Uint64, len(cfg.Endpoints)),
		idle:         make(chan struct{}),
		exited:       make(chan struct{}),
	}
	rt.unions, rt.fanout = newUnions(p, cfg.Settings)
	// Framings with one name encode alike: number them once, so a delivery
	// compares integers, not interfaces.
	rt.frIDs = make([]uint32, len(cfg.Endpoints))
	ids := map[string]uint32{}
	for i := range cfg.Settings {
		name := cfg.Settings[i].Framing.Name()
		if _, ok := ids[name]; !ok {
			ids[name] = uint32(len(ids))
		}
		rt.frIDs[i] = ids[name]
	}
	// Open what must exist now; connect endpoints retry in the loops.
	fds := make([]int, len(p.Start))
	var errs []error
	for i, pc := range p.Start {
		fds[i] = -1
		in := p.Inst[pc]
		ep := cfg.Endpoints[in.Arg]
		var err error
		switch {
		case in.Op == OpAccept:
			fds[i], err = ep.Listen()
		case ep.Role() == contract.RoleOpen:
			fds[i], err = ep.Open()
		}
		if err != nil {
			fds[i] = -1
			errs = append(errs, &StartError{Pos: p.Pos[in.Pos], Endpoint: p.Endpoints[in.Arg], What: ep.String(), Err: err})
		}
	}
	release := func() {
		for i, fd := range fds {
			if fd >= 0 {
				cfg.Endpoints[p.Inst[p.Start[i]].Arg].Release(fd)
			}
		}
	}
	if len(errs) > 0 {
		release()
		if own {
			host.Close()
		}
		return nil, errors.Join(errs...)
	}
	for i := range n {
		m := &Machine{
			rt:           rt,
			id:           i,
			prog:         p,
			inst:         p.Inst,
			log:          log.With("loop", i),
			groups:       make([][]*conn, len(p.Groups)),
			cursor:       make([]int, len(p.Groups)),
			outbox:       make([]*groupBatch, n),
			transit:      make([]mailLink, n),
			overLink:     make([]bool, n),
			chunks:       chunkPool{max: 512}, // 32MiB of spare blocks per loop at most
			counters:     make([]epCounters, len(p.Endpoints)),
			lastCounters: make([]epCounters, len(p.Endpoints)),
			edgeFigs:     make([]edgeCounters, len(p.Edges)),
			lastEdgeFigs: make([]edgeCounters, len(p.Edges)),
			active:       make([]int64, len(p.Endpoints)),
			lastActive:   make([]int64, len(p.Endpoints)),
			reopenWait:   map[uint32]*contract.BackoffState{},
			pub: &machinePub{
				eps:    make([]epPublished, len(p.Endpoints)),
				edges:  make([]edgePublished, len(p.Edges)),
				active: make([]atomic.Int64, len(p.Endpoints)),
			},
		}
		m.loop = &mailbox{hl: host.loops[i], m: m}
		rt.machines = append(rt.machines, m)
	}
	// Each loop takes its Machine on its own thread; wait until all have.
	rt.alive.Store(int32(n))
	oks := make([]chan bool, n)
	for i, m := range rt.machines {
		oks[i] = make(chan bool, 1)
		if !m.loop.hl.loop.Post(attachMail{m: m, ok: oks[i]}) {
			oks[i] <- false
		}
	}
	failed := false
	for i, m := range rt.machines {
		if !<-oks[i] {
			failed = true
			m.exit(nil)
		}
	}
	if failed {
		for _, m := range rt.machines {
			m.loop.Post(finishMail{})
		}
		<-rt.exited
		release()
		if own {
			host.Close()
		}
		return nil, fmt.Errorf("opcodes: the loops cannot take another program (%d on one already, or gone with timers still pending, or the loops have stopped)", machineIDs)
	}
	// One placeholder per start thread keeps the runtime from looking idle
	// before the threads have run.
	rt.live.Store(int64(len(p.Start)))
	// Connect endpoints pxroute opens take their places in their routes
	// first (connecting.go), so that no message a listener or an opened
	// source receives finds them missing.
	connects := func(pc uint32) bool {
		return p.Inst[pc].Op == OpOpen && cfg.Endpoints[p.Inst[pc].Arg].Role() == contract.RoleConnect
	}
	var joined sync.WaitGroup
	for _, wave := range []bool{true, false} {
		for i, pc := range p.Start {
			if connects(pc) != wave {
				continue
			}
			loop := i % n
			if pin := rt.pin(p.Inst[pc].Arg); pin >= 0 {
				loop = pin
			}
			mail := startMail{pc: pc, fd: fds[i]}
			if wave {
				joined.Add(1)
				mail.ack = joined.Done
			}
			rt.machines[loop].loop.Post(mail)
		}
		waitOr(&joined, rt.exited)
	}
	return rt, nil
}

// exit marks m finished, on its loop's thread as it leaves it (or, never
// attached, in Start); err is what ended its loop, if anything did.
func (m *Machine) exit(err error) {
	rt := m.rt
	if err != nil {
		rt.errMu.Lock()
		rt.runErr = errors.Join(rt.runErr, fmt.Errorf("loop %d: %w", m.id, err))
		rt.errMu.Unlock()
	}
	m.exited.Store(true)
	if rt.alive.Add(-1) == 0 {
		close(rt.exited)
	}
}

// pin returns the loop all of endpoint ep's conns run on, or -1 when they
// spread over the loops.
func (rt *Runtime) pin(ep uint32) int {
	if int(ep) >= len(rt.prog.Pin) || rt.prog.Pin[ep] < 0 {
		return -1
	}
	return int(rt.prog.Pin[ep]) % len(rt.machines)
}

func (rt *Runtime) liveDone() {
	if rt.live.Add(-1) == 0 {
		rt.idleOnce.Do(func() { close(rt.idle) })
	}
}

// Idle is closed when nothing is left to do: no listener, no connection,
// no pending retry (a file piped to stdout has been copied, say).
func (rt *Runtime) Idle() <-chan struct{} { return rt.idle }

// Exited is closed when the program has left every loop.
func (rt *Runtime) Exited() <-chan struct{} { return rt.exited }

// Engine names the completion backend in use.
func (rt *Runtime) Engine() string { return rt.engine }

// Stop drains and stops: listeners close and reading stops at once; queued
// output keeps flowing to live sinks for up to drain; what is left then is
// dropped and counted as "shutdown". It returns when the program has left
// every loop (and, with loops of its own, they have ended).
func (rt *Runtime) Stop(drain time.Duration) error {
	rt.stopOnce.Do(func() {
		// Phase 1: every loop stops producing. Mail a loop sent before
		// acknowledging is ahead of phase 2's mail in every inbox, so
		// nothing in flight between loops is lost.
		var acks sync.WaitGroup
		acks.Add(len(rt.machines))
		for _, m := range rt.machines {
			if !m.loop.Post(stopMail{ack: acks.Done}) {
				acks.Done() // it has finished already
			}
		}
		waitOr(&acks, rt.exited)
		for _, m := range rt.machines {
			m.loop.Post(finishMail{deadline: drain})
		}
	})
	<-rt.exited
	var hostErr error
	if rt.ownHost {
		hostErr = rt.host.Close()
	}
	rt.errMu.Lock()
	defer rt.errMu.Unlock()
	if rt.runErr == nil {
		return hostErr
	}
	return rt.runErr
}

// waitOr waits for wg unless done closes first (a loop died).
func waitOr(wg *sync.WaitGroup, done <-chan struct{}) {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-done:
	}
}

// Stats sums the loops' published counters.
func (rt *Runtime) Stats() Stats {
	s := Stats{Engine: rt.engine, Ops: make(map[string]uint64, NumOps), Generations: 1}
	s.EngineNotes = rt.host.notes()
	s.Endpoints = make([]EndpointStats, len(rt.prog.Endpoints))
	for i, name := range rt.prog.Endpoints {
		s.Endpoints[i] = EndpointStats{Name: name, Drops: make(map[string]uint64, NumDrops), Lost: make(map[string]uint64, NumDrops), Refused: make(map[string]uint64, NumRefusals)}
		for _, d := range dropNames {
			s.Endpoints[i].Drops[d] = 0
			s.Endpoints[i].Lost[d] = 0
		}
		for _, r := range refusalNames {
			s.Endpoints[i].Refused[r] = 0
		}
		s.Endpoints[i].TopicsRefused = make(map[string]uint64, NumTopicRefusals)
		for _, r := range topicRefusalNames {
			s.Endpoints[i].TopicsRefused[r] = 0
		}
		if c, ok := rt.set[i].Framing.(contract.Counted); ok {
			s.Endpoints[i].Session = c.Counts()
		}
		if l, ok := rt.set[i].Framing.(contract.Lossy); ok {
			for k, n := range l.Losses() {
				s.Endpoints[i].Lost[k] += n
			}
		}
		if a, ok := rt.set[i].Framing.(contract.Addressed); ok {
			s.Endpoints[i].ConnectedTo = a.ConnectedTo()
		}
		if rt.set[i].Secure != nil {
			s.Endpoints[i].SecureFailed = make(map[string]uint64, contract.SecureReasons)
			for r := range contract.SecureReasons {
				s.Endpoints[i].SecureFailed[r.String()] = 0
			}
		}
	}
	// The loops' own figures cover every program they host; with loops of
	// its own, they are this program's.
	var loops []LoopStats
	if rt.ownHost {
		loops = rt.host.LoopStats()
	}
	s.Routes = rt.routeStats()
	eps, edges := make([]epCounters, len(rt.prog.Endpoints)), make([]edgeCounters, len(rt.prog.Edges))
	for _, m := range rt.machines {
		m.pub.figures(eps, edges) // endpoints and routes of one moment
		rt.addEdges(s.Routes, edges)
		l := LoopStats{ID: m.id, InTransit: rt.inTransit(m.id), Conns: m.pub.conns.Load()}
		if loops != nil {
			o := loops[m.id]
			l.Completions, l.Mail, l.Wakeups, l.BusyPolls, l.InboxDepth = o.Completions, o.Mail, o.Wakeups, o.BusyPolls, o.InboxDepth
		}
		s.Loops = append(s.Loops, l)
		for op := range NumOps {
			s.Ops[op.String()] += m.pub.ops[op].Load()
		}
		for i := range s.Endpoints {
			e, p := &s.Endpoints[i], &eps[i]
			e.Active += m.pub.active[i].Load()
			e.Opened += p.Opened
			e.Closed += p.Closed
			e.Errors += p.Errors
			e.IdleClosed += p.IdleClosed
			e.FrameTimeouts += p.FrameTimeouts
			e.ReplyTimeouts += p.ReplyTimeouts
			e.Unanswered += p.Unanswered
			for r := range NumRefusals {
				e.Refused[r.String()] += p.Refused[r]
			}
			for r := range NumTopicRefusals {
				e.TopicsRefused[r.String()] += p.TopicsRefused[r]
			}
			e.Secured += p.Secured
			e.TLSKernel += p.TLSKernel
			e.TLSUserspace += p.TLSUserspace
			if e.SecureFailed != nil {
				for r := range contract.SecureReasons {
					e.SecureFailed[r.String()] += p.SecureFailed[r]
				}
			}
			e.BytesIn += p.BytesIn
			e.BytesOut += p.BytesOut
			e.MsgsIn += p.MsgsIn
			e.MsgsOut += p.MsgsOut
			e.ControlIn += p.ControlIn
			e.ControlOut += p.ControlOut
			e.Offered += p.Offered
			e.QueuedB += p.Queued
			e.QueuedMsgs += p.QueuedMsgs
			for d := range NumDrops {
				e.Drops[d.String()] += p.Drops[d]
				e.Lost[d.String()] += p.Lost[d]
			}
		}
	}
	for i := range s.Endpoints {
		if s.Endpoints[i].Active == 0 {
			s.Endpoints[i].ConnectedTo = "" // lost, not yet redialled
		}
	}
	return s
}
