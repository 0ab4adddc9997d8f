package opcodes

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pxroute/pxroute/completion"
	"golang.org/x/sys/unix"
)

// Host owns a set of event loops for its lifetime: one locked OS thread and
// one completion port each. Every loop hosts several program generations,
// a Machine of each: a Runtime attaches its Machines when it starts and
// each leaves its loop once it is done (drained, or stopped), so starting a
// program beside the others, as a reload does, adds no thread, port or
// goroutine, and a retired one leaves nothing behind.
//
// On a loop, a completion finds its Machine by the machine field of its
// token, which the Machine's view of the port (stampedPort) sets on every
// operation it submits; mail carries the Machine it is for (addressed).
// Machines keep their loop's contract among themselves: one thread, no
// locks. A completion for a Machine that has left (a timer it armed, say)
// is released; mail for one is accounted for by its Orphan, as mail that
// reaches a finished loop is.
type Host struct {
	loops  []*hostLoop
	engine string
	log    *slog.Logger
	exited chan struct{}
	broken chan struct{} // a loop ended before Close
	breaks sync.Once
	wg     sync.WaitGroup
	errMu  sync.Mutex
	err    error
	once   sync.Once
}

// NewHost starts n loops (at least one), each opening its port with
// newPort on its own thread, and returns once all have, or the errors of
// those that could not (with every loop ended again).
func NewHost(n int, newPort func() (completion.Port, error), log *slog.Logger) (*Host, error) {
	n = max(n, 1)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Host{log: log, exited: make(chan struct{}), broken: make(chan struct{})}
	ready := make(chan error, n)
	for i := range n {
		hl := &hostLoop{host: h, loop: completion.NewLoop(i), byID: make([]*Machine, machineIDs), kept: map[uint32]time.Time{}}
		h.loops = append(h.loops, hl)
		h.wg.Add(1)
		go h.serve(hl, newPort, ready)
	}
	var errs []error
	for range n {
		if err := <-ready; err != nil {
			errs = append(errs, err)
		}
	}
	go func() {
		h.wg.Wait()
		close(h.exited)
	}()
	if len(errs) > 0 {
		h.Close()
		return nil, errors.Join(errs...)
	}
	h.engine = h.loops[0].port.Engine()
	return h, nil
}

func (h *Host) serve(hl *hostLoop, newPort func() (completion.Port, error), ready chan<- error) {
	defer h.wg.Done()
	err := hl.loop.Serve(newPort, func(p completion.Port, err error) {
		hl.port = p // on the loop's own thread, before it handles anything
		ready <- err
	}, hl)
	if err != nil && hl.port != nil {
		h.errMu.Lock()
		h.err = errors.Join(h.err, fmt.Errorf("loop %d: %w", hl.loop.ID, err))
		h.errMu.Unlock()
		h.log.Error("loop failed", "loop", hl.loop.ID, "err", err)
	}
	// Generations still here end with the loop (it failed, or the host
	// was closed before they stopped).
	for _, m := range hl.live {
		hl.byID[m.hid] = nil
		m.exit(err)
	}
	hl.live = nil
	if !hl.closing && hl.port != nil {
		h.breaks.Do(func() { close(h.broken) })
	}
}

// Loops is the number of loops.
func (h *Host) Loops() int { return len(h.loops) }

// Engine names the completion backend the loops run on.
func (h *Host) Engine() string { return h.engine }

// Broken is closed when a loop has ended on its own (it failed).
func (h *Host) Broken() <-chan struct{} { return h.broken }

// Exited is closed once every loop has returned.
func (h *Host) Exited() <-chan struct{} { return h.exited }

// Close ends the loops once the mail posted before it has been handled,
// and returns when they have, with what made any of them fail. Stop every
// Runtime on the host first: a generation still attached ends abruptly.
func (h *Host) Close() error {
	h.once.Do(func() {
		for _, hl := range h.loops {
			hl.loop.Post(hostCloseMail{})
		}
	})
	<-h.exited
	h.errMu.Lock()
	defer h.errMu.Unlock()
	return h.err
}

// MaxBusyPoll is the longest busy-polling window (busy_poll:), which
// the loops clamp to.
const MaxBusyPoll = completion.MaxBusyPoll

// SetBusyPoll sets every loop's busy-polling window
// (completion.Loop.SetBusyPoll); safe while they run.
func (h *Host) SetBusyPoll(d time.Duration) {
	for _, hl := range h.loops {
		hl.loop.SetBusyPoll(d)
	}
}

// LoopStats returns each loop's own figures: completions, mail, wakeups
// and inbox depth, over every generation it has hosted. The rest of
// LoopStats belongs to the programs (Runtime.Stats).
func (h *Host) LoopStats() []LoopStats {
	out := make([]LoopStats, len(h.loops))
	for i, hl := range h.loops {
		ls := hl.loop.Stats()
		out[i] = LoopStats{
			ID:          i,
			Completions: ls.Completions.Load(),
			Mail:        ls.Mail.Load(),
			Wakeups:     ls.Wakeups.Load(),
			BusyPolls:   ls.BusyPolls.Load(),
			InboxDepth:  hl.loop.InboxDepth(),
		}
	}
	return out
}

// notes is what the engine does without, for Stats.
func (h *Host) notes() []string {
	if n, ok := h.loops[0].port.(completion.Noter); ok {
		return n.Notes()
	}
	return nil
}

// Token layout: the low 24 bits a slot, the next 24 a generation (of the
// slot), the next 12 the Machine on its loop, the top 4 a tag. 2^24 slots
// are more connections than one Machine can hold in memory.
const (
	machineShift = 48
	machineBits  = 12
	maxMachines  = 1 << machineBits // programs on one loop at once
)

// machineIDs is how many ids a loop hands out: maxMachines, the token's
// room. Tests lower it (export_test.go) to reach the bound in a moment.
var machineIDs = maxMachines

func machineOf(t uint64) uint32 { return uint32(t>>machineShift) & (maxMachines - 1) }

// hostLoop is one loop of a Host: the handler its completion.Loop drives,
// dispatching to the Machines on it. Loop thread only, but for Post.
type hostLoop struct {
	host *Host
	loop *completion.Loop
	port completion.Port
	byID []*Machine // by token machine field; nil: free
	live []*Machine // in attach order
	next uint32     // the next machine id to try: ids are reused last
	// kept holds the ids of Machines that left with timers pending, until
	// the last has fired: the ports cannot cancel a timer, and one that
	// reached a newcomer under the same id would run its idle sweep, drain
	// deadline or reconnect.
	kept    map[uint32]time.Time
	closing bool
}

// addressed is mail for one Machine on a loop.
type addressed struct {
	m *Machine
	v any
}

// attachMail puts a Machine on a loop; ok says whether it was.
type attachMail struct {
	m  *Machine
	ok chan<- bool
}

type hostCloseMail struct{}

func (hl *hostLoop) Complete(cp *completion.Completion) {
	if m := hl.byID[machineOf(cp.Token)]; m != nil {
		m.Complete(cp)
		return
	}
	// Its Machine has left: give back what the completion carries.
	if cp.Buf != nil {
		hl.port.Release(cp.Buf)
	}
	if cp.Kind == completion.KindAccept && cp.Err == 0 {
		completion.Close(cp.N)
	}
}

func (hl *hostLoop) Mail(v any) {
	switch v := v.(type) {
	case *addressed:
		if hl.byID[v.m.hid] == v.m {
			v.m.Mail(v.v)
		} else {
			v.m.Orphan(v.v) // it has left
		}
	case attachMail:
		v.ok <- hl.attach(v.m)
	case hostCloseMail:
		hl.closing = true
	default:
		panic(fmt.Sprintf("opcodes: unexpected host mail %T", v))
	}
}

func (hl *hostLoop) Orphan(v any) {
	switch v := v.(type) {
	case *addressed:
		v.m.Orphan(v.v)
	case attachMail:
		v.ok <- false
	}
}

// Turn runs each Machine's turn and lets the done ones go.
func (hl *hostLoop) Turn() {
	keep := hl.live[:0]
	for _, m := range hl.live {
		if !m.Done() {
			m.Turn()
		}
		if m.Done() {
			hl.byID[m.hid] = nil
			if m.timersUntil.After(time.Now()) {
				hl.kept[m.hid] = m.timersUntil
			}
			m.exit(nil)
			continue
		}
		keep = append(keep, m)
	}
	clear(hl.live[len(keep):])
	hl.live = keep
}

func (hl *hostLoop) Done() bool { return hl.closing }

// attach puts m on this loop, under an id no Machine here holds, and
// reports false when all are taken.
func (hl *hostLoop) attach(m *Machine) bool {
	now := time.Now()
	for range machineIDs {
		id := hl.next
		hl.next = (hl.next + 1) % uint32(machineIDs)
		if hl.byID[id] != nil {
			continue
		}
		if until, ok := hl.kept[id]; ok {
			if now.Before(until) {
				continue
			}
			delete(hl.kept, id)
		}
		m.hid = id
		m.port = stampedPort{Port: hl.port, id: uint64(id) << machineShift, m: m}
		hl.byID[id] = m
		hl.live = append(hl.live, m)
		m.armIdleSweep()
		return true
	}
	return false
}

// mailbox is a Machine's address on its loop.
type mailbox struct {
	hl *hostLoop
	m  *Machine
}

// Post queues v for the Machine and reports true, or reports false once
// the Machine or its loop has finished: the caller then still owns v.
func (b *mailbox) Post(v any) bool {
	if b.m.exited.Load() {
		return false
	}
	return b.hl.loop.Post(&addressed{m: b.m, v: v})
}

// stampedPort is a Machine's view of its loop's port: every token it
// submits names the Machine, and it notes when the Machine's last timer
// is due (see hostLoop.kept).
type stampedPort struct {
	completion.Port
	id uint64
	m  *Machine
}

func (p stampedPort) Accept(fd int, t uint64) error { return p.Port.Accept(fd, t|p.id) }
func (p stampedPort) Recv(fd int, t uint64) error   { return p.Port.Recv(fd, t|p.id) }
func (p stampedPort) Send(fd int, iov [][]byte, t uint64) error {
	return p.Port.Send(fd, iov, t|p.id)
}
func (p stampedPort) Connect(fd int, sa unix.Sockaddr, t uint64) error {
	return p.Port.Connect(fd, sa, t|p.id)
}
func (p stampedPort) SpliceIn(fd, pipeW, n int, t uint64) error {
	return p.Port.SpliceIn(fd, pipeW, n, t|p.id)
}
func (p stampedPort) SpliceOut(pipeR, fd, n int, t uint64) error {
	return p.Port.SpliceOut(pipeR, fd, n, t|p.id)
}
func (p stampedPort) Abort(fd int, t uint64) bool { return p.Port.Abort(fd, t|p.id) }
func (p stampedPort) After(d time.Duration, t uint64) {
	if due := time.Now().Add(d); due.After(p.m.timersUntil) {
		p.m.timersUntil = due
	}
	p.Port.After(d, t|p.id)
}

var _ completion.Port = stampedPort{}
