package endpoints

import (
	"runtime/debug"
	"sync"
	"time"
)

// A full handshake leaves about 100 KB of garbage (crypto/tls's, made on
// the pool's goroutines), while the connection it secures keeps under
// 2 KB. Go's collector lets the heap grow to twice what is live before it
// collects, and its scavenger keeps freed pages resident up to that goal:
// after a burst of handshakes, a daemon holding the idle connections it
// made kept about twice their memory (4.4 KB of RSS per idle TLS
// connection against 1.7 KB live). So once a burst is over the process's
// free memory goes back to the OS: one collection and scavenge
// (debug.FreeOSMemory), on the timer's goroutine, once per burst, never
// while handshakes keep ending, and at most once per tlsReleaseEvery: a
// forced collection costs in proportion to the live heap, which under
// queued messages may be large, so peers that end handshakes in small
// bursts (a cheap way to make them) cannot make collections back to back.
const (
	// tlsReleaseQuiet: no handshake has ended for this long, so the
	// burst's pool goroutines (tlsWorkerLinger) have ended, and the
	// connections it made that are idle have rested (a loop's sweep rests
	// a session unused for 1 to 2 s, opcodes/secure_warm.go): what they
	// let go of leaves with the handshakes' garbage.
	tlsReleaseQuiet = 2500 * time.Millisecond
	// tlsReleaseMin: ~6 MB of garbage; fewer handshakes are not worth a
	// collection.
	tlsReleaseMin = 64
	// tlsReleaseEvery: at most 4 forced collections in the 2 minutes
	// after which the runtime forces one anyway.
	tlsReleaseEvery = 30 * time.Second
)

// handshakeGarbage is the process's one release: every endpoint's
// handshakes fill the same heap.
var handshakeGarbage = &burstRelease{quiet: tlsReleaseQuiet, min: tlsReleaseMin, every: tlsReleaseEvery, free: debug.FreeOSMemory}

// burstRelease calls free once a burst of at least min events is followed
// by quiet without one, and no sooner than every after its last call.
type burstRelease struct {
	quiet time.Duration
	min   int
	every time.Duration
	free  func()

	mu    sync.Mutex
	ended int       // events since the last release
	total int       // events ever
	last  time.Time // the latest event
	freed time.Time // the last call of free; zero: none yet
	timer *time.Timer
	armed bool
}

// note counts an event (a handshake that ended, however it ended) and
// arms the timer if it is not armed. Resetting the timer at every event
// would cost a timer operation per handshake; the timer instead checks,
// when it fires, whether the burst is really over.
func (r *burstRelease) note() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended++
	r.total++
	r.last = time.Now()
	if r.armed {
		return
	}
	r.armed = true
	if r.timer == nil {
		r.timer = time.AfterFunc(r.quiet, r.fire)
	} else {
		r.timer.Reset(r.quiet)
	}
}

// fire frees once the burst is over, or waits out the rest of the quiet
// or of the interval since the last free.
func (r *burstRelease) fire() {
	r.mu.Lock()
	wait := r.quiet - time.Since(r.last)
	if r.ended >= r.min && !r.freed.IsZero() {
		wait = max(wait, r.every-time.Since(r.freed))
	}
	if wait > 0 {
		r.timer.Reset(wait)
		r.mu.Unlock()
		return
	}
	r.armed = false
	due := r.ended >= r.min
	if due {
		r.ended = 0
		r.freed = time.Now()
	}
	r.mu.Unlock()
	if due {
		r.free()
	}
}
