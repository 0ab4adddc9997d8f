package endpoints

import (
	"container/list"
	"errors"
	"sync"
	"time"

	"github.com/pxroute/pxroute/contract"
)

// tlsPool runs an endpoint's handshakes, at most max at a time: a
// goroutine per handshake in flight and none idle; the rest wait as queue
// entries (no goroutine each), so clients stalled mid-handshake cannot
// raise goroutines or threads past max. Every handshake, queued or
// running, ends at its deadline (handshake_timeout from Secure).
type tlsPool struct {
	mu      sync.Mutex
	max     int
	running int
	queue   list.List // of *tlsJob, in arrival order
}

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
	timer    *time.Timer // ends it while queued

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
func (p *tlsPool) submit(j *tlsJob, timeout time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running < p.max {
		p.running++
		j.state = tlsRunning
		go p.work(j)
		return
	}
	j.elem = p.queue.PushBack(j)
	j.timer = time.AfterFunc(timeout, func() { p.endQueued(j, &contract.SecureError{Reason: contract.SecureTimeout, Err: errTLSQueueTimeout}) })
}

// work runs j, then the queue's next jobs, on one goroutine.
func (p *tlsPool) work(j *tlsJob) {
	for j != nil {
		t, err := j.run(j)
		p.mu.Lock()
		j.state, j.conn = tlsFinished, nil
		next := p.next()
		p.mu.Unlock()
		j.done(t, err)
		j = next
	}
}

// next takes the first queued job and marks it running, or frees the
// slot; under mu.
func (p *tlsPool) next() *tlsJob {
	e := p.queue.Front()
	if e == nil {
		p.running--
		return nil
	}
	j := p.queue.Remove(e).(*tlsJob)
	j.elem, j.state = nil, tlsRunning
	j.timer.Stop()
	return j
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
	j.timer.Stop()
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
