package endpoints

import (
	"container/list"
	"errors"
	"sync"
	"time"

	"github.com/pxroute/pxroute/contract"
)

// tlsPool runs an endpoint's handshakes, at most max at a time: a
// goroutine per handshake in flight; the rest wait as queue entries (no
// goroutine, no timer each), so clients stalled mid-handshake cannot
// raise goroutines or threads past max (+1, the expiry sweep). Every
// handshake, queued or running, ends at its deadline (handshake_timeout
// from Secure).
//
// A goroutine whose handshake ended with none queued waits up to
// tlsWorkerLinger for the next before it ends (still at most max in
// all): a new goroutine's stack grows, copied at each doubling, through
// crypto/tls's depth in every handshake, 3.4% of a server's CPU under a
// stream of them (and 1.7% to start and end the goroutines).
//
// A free slot goes to the newest queued job: under a flood of clients
// that stall, the oldest ones are those about to expire, and a slot given
// to them is held until they do; first come first served would give an
// honest client arriving after them a slot only at its own deadline.
type tlsPool struct {
	mu      sync.Mutex
	max     int
	running int          // goroutines running a handshake
	idle    int          // goroutines waiting for one (lingering)
	handoff chan *tlsJob // jobs for idle goroutines; room for max, made on first use
	queue   list.List    // of *tlsJob, in arrival order: by deadline, as every job has the same timeout
	expiry  *time.Timer  // due at the oldest queued job's deadline; nil until first needed
}

// tlsWorkerLinger is how long a pool goroutine waits for another
// handshake: gaps in a stream of handshakes are far shorter, and the
// goroutines a burst left end soon after it.
const tlsWorkerLinger = 250 * time.Millisecond

// tlsJobState is a job's lifecycle: queued -> running -> finished, or
// queued -> finished (timed out or canceled while waiting).
type tlsJobState uint8

const (
	tlsQueued tlsJobState = iota
	tlsRunning
	tlsFinished
)

// tlsJob is one handshake.
type tlsJob struct {
	fd       int
	deadline time.Time
	run      func(*tlsJob) (contract.Transport, error)
	done     func(contract.Transport, error)

	// under the pool's mu
	state    tlsJobState
	elem     *list.Element
	canceled bool
	conn     *tlsRecordConn // while running, for cancel
}

var (
	errTLSCanceled     = errors.New("handshake canceled")
	errTLSQueueTimeout = errors.New("handshake timed out waiting for a free handshake slot")
)

// submit queues j, or starts it at once when a slot is free.
func (p *tlsPool) submit(j *tlsJob) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idle > 0 {
		// The channel has room: it holds at most one job per idle
		// goroutine, and there are at most max.
		p.idle--
		p.running++
		j.state = tlsRunning
		p.handoff <- j
		return
	}
	if p.running < p.max {
		p.running++
		j.state = tlsRunning
		go p.work(j)
		return
	}
	j.elem = p.queue.PushBack(j)
	if p.queue.Len() == 1 {
		p.armExpiry(j.deadline)
	}
}

// armExpiry makes the sweep due at deadline; under mu.
func (p *tlsPool) armExpiry(deadline time.Time) {
	if p.expiry == nil {
		p.expiry = time.AfterFunc(time.Until(deadline), p.expire)
		return
	}
	p.expiry.Reset(time.Until(deadline))
}

// expire ends the queued jobs whose deadline has passed, oldest first,
// and rearms for the next: one timer and one goroutine for the whole
// queue, where a timer per job would start a goroutine per job as a
// flood of them expired together.
func (p *tlsPool) expire() {
	var ended []*tlsJob
	p.mu.Lock()
	now := time.Now()
	for e := p.queue.Front(); e != nil; e = p.queue.Front() {
		j := e.Value.(*tlsJob)
		if j.deadline.After(now) {
			p.armExpiry(j.deadline)
			break
		}
		p.queue.Remove(e)
		j.elem, j.state = nil, tlsFinished
		ended = append(ended, j)
	}
	p.mu.Unlock()
	for _, j := range ended {
		j.done(nil, &contract.SecureError{Reason: contract.SecureTimeout, Err: errTLSQueueTimeout})
	}
}

// work runs j, then the queue's next jobs and those handed to it while
// it lingers, on one goroutine.
func (p *tlsPool) work(j *tlsJob) {
	var linger *time.Timer
	for j != nil {
		t, err := j.run(j)
		p.mu.Lock()
		j.state, j.conn = tlsFinished, nil
		next := p.next()
		p.mu.Unlock()
		handshakeGarbage.note() // before done: a test that saw the result sees the note
		j.done(t, err)
		if next == nil {
			next = p.await(&linger)
		}
		j = next
	}
	if linger != nil {
		linger.Stop()
	}
}

// next takes the newest queued job and marks it running, or makes the
// goroutine idle; under mu.
func (p *tlsPool) next() *tlsJob {
	e := p.queue.Back()
	if e == nil {
		p.running--
		p.idle++
		if p.handoff == nil {
			p.handoff = make(chan *tlsJob, p.max)
		}
		return nil
	}
	j := p.queue.Remove(e).(*tlsJob)
	j.elem, j.state = nil, tlsRunning
	return j
}

// await is an idle goroutine's wait for a job handed over (submit marked
// it running); nil after tlsWorkerLinger without one, and the goroutine
// is no longer counted: it ends.
func (p *tlsPool) await(linger **time.Timer) *tlsJob {
	if *linger == nil {
		*linger = time.NewTimer(tlsWorkerLinger)
	} else {
		(*linger).Reset(tlsWorkerLinger)
	}
	select {
	case j := <-p.handoff:
		return j
	case <-(*linger).C:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case j := <-p.handoff: // handed over as the wait ended
		return j
	default:
		p.idle--
		return nil
	}
}

// endQueued ends j with err if it is still waiting.
func (p *tlsPool) endQueued(j *tlsJob, err error) bool {
	p.mu.Lock()
	if j.state != tlsQueued {
		p.mu.Unlock()
		return false
	}
	p.queue.Remove(j.elem)
	j.elem, j.state = nil, tlsFinished
	p.mu.Unlock()
	j.done(nil, err)
	return true
}

// cancel ends j early: a queued job at once, a running one by moving its
// conn's deadline to now (its handshake then fails and reports).
func (p *tlsPool) cancel(j *tlsJob) {
	if p.endQueued(j, &contract.SecureError{Reason: contract.SecureHandshake, Err: errTLSCanceled}) {
		return
	}
	p.mu.Lock()
	j.canceled = true
	c := j.conn
	p.mu.Unlock()
	if c != nil {
		c.SetDeadline(time.Unix(1, 0))
	}
}

// started records c as j's conn; false if j was canceled meanwhile.
func (p *tlsPool) started(j *tlsJob, c *tlsRecordConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	j.conn = c
	return !j.canceled
}

// wasCanceled says whether cancel was called on j.
func (p *tlsPool) wasCanceled(j *tlsJob) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return j.canceled
}
