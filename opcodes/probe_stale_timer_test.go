package opcodes_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/opcodes"
	"github.com/pxroute/pxroute/topology"
)

// A Machine that has left its loop can leave timers behind (the idle
// sweep's, a retirement's drain deadline): the ports cannot cancel them.
// Machine ids on a loop come round again after 4096 programs (the test
// lowers that to 64: the same code, reached in a moment), so the id of
// a Machine whose timer is still pending must not be handed to another
// before that timer has fired: the stale timer would run the newcomer's
// idle sweep, drain deadline or reconnect. Here the newcomer has no idle
// sweep at all, and a stale sweep timer made it arm one of period zero:
// a loop spinning on its timers for ever.
//
// heldTimerPort holds back the long timers so that the test decides when
// the first program's sweep fires (after the id has come round), as a
// late timer would.
func TestProbeStaleTimerOfALeftMachineReachesItsSuccessor(t *testing.T) {
	for _, engine := range []string{"epoll", "io_uring"} {
		for _, loops := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/loops=%d", engine, loops), func(t *testing.T) {
				staleTimerReachesSuccessor(t, engine, loops)
			})
		}
	}
}

func staleTimerReachesSuccessor(t *testing.T, engine string, loops int) {
	newPort := completion.NewEpoll
	if engine == "io_uring" {
		if err := completion.UringUnavailable(); err != nil {
			t.Fatalf("io_uring: %v", err)
		}
		newPort = completion.NewUring
	}
	defer opcodes.SetMachineIDs(64)()
	var ports []*heldTimerPort
	var mu sync.Mutex
	host, err := opcodes.NewHost(loops, func() (completion.Port, error) {
		p, err := newPort()
		if err != nil {
			return nil, err
		}
		hp := &heldTimerPort{Port: p}
		mu.Lock()
		ports = append(ports, hp)
		mu.Unlock()
		return hp, nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	load := func(extra string) *topology.Compiled {
		c, err := topology.Load("t.yaml", []byte(`
endpoints:
  e: {kind: tcp, listen: "127.0.0.1:0", framing: lines`+extra+`}
routes:
  - {pattern: echo, members: e}
`))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	run := func(c *topology.Compiled) *opcodes.Runtime {
		rt, err := opcodes.Start(opcodes.Config{Prog: c.Prog, Endpoints: c.Openers(), Settings: c.Settings(), Host: host})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	// The first program sweeps for idle conns every 10s: its timer is
	// held, and still pending when it leaves.
	first := run(load(`, idle_timeout: 40s`))
	if err := first.Stop(0); err != nil {
		t.Fatal(err)
	}
	// The other ids' worth of programs come and go, without timers of
	// their own; the next one is given the first one's id again unless it
	// is kept.
	plain := load("")
	for range opcodes.MachineIDs() - 1 {
		if err := run(plain).Stop(0); err != nil {
			t.Fatal(err)
		}
	}
	last := run(plain)
	defer last.Stop(0)
	mu.Lock()
	held := 0
	for _, p := range ports {
		held += p.heldCount()
	}
	mu.Unlock()
	if held != loops {
		t.Fatalf("%d timers held, want the first program's idle sweep on each of %d loops", held, loops)
	}
	// The first program's sweep fires now, late.
	for _, p := range ports {
		p.fire()
	}
	// The last program set no timer; a stale sweep run for it arms one.
	time.Sleep(300 * time.Millisecond)
	var armed int64
	for _, p := range ports {
		armed += p.armedAfterFire.Load()
	}
	if armed != 0 {
		t.Errorf("after the left program's sweep timer fired, the loops armed %d timers for a program that has no idle_timeout (want 0: the stale timer reached the program given the same machine id)", armed)
	}
}

// heldTimerPort is a real port whose timers of a second or more are held
// until fire, when they complete at once.
type heldTimerPort struct {
	completion.Port
	mu             sync.Mutex
	held           []uint64
	due            []uint64
	fired          atomic.Bool
	armedAfterFire atomic.Int64
}

func (p *heldTimerPort) After(d time.Duration, token uint64) {
	if p.fired.Load() {
		p.armedAfterFire.Add(1)
	}
	if d >= time.Second {
		p.mu.Lock()
		p.held = append(p.held, token)
		p.mu.Unlock()
		return
	}
	p.Port.After(d, token)
}

func (p *heldTimerPort) heldCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.held)
}

// fire makes every held timer complete at the loop's next wait.
func (p *heldTimerPort) fire() {
	p.mu.Lock()
	p.due, p.held = append(p.due, p.held...), nil
	p.mu.Unlock()
	p.fired.Store(true)
	p.Port.Wake()
}

func (p *heldTimerPort) Wait(dst []completion.Completion, block bool) ([]completion.Completion, error) {
	p.mu.Lock()
	due := p.due
	p.due = nil
	p.mu.Unlock()
	for _, tok := range due {
		dst = append(dst, completion.Completion{Token: tok, Kind: completion.KindTimer})
		block = false
	}
	return p.Port.Wait(dst, block)
}
