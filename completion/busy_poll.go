package completion

import (
	"syscall"
	"time"
)

// MaxBusyPoll bounds SetBusyPoll: a longer window spins a core through
// gaps that a wake-up would cost far less than.
const MaxBusyPoll = 10 * time.Millisecond

// SetBusyPoll sets how long the loop keeps polling its port without
// sleeping after its last completion or mail (0, the default: it sleeps
// at once). Sleeping costs a wake-up on the next message (the scheduler,
// and an IPI in a VM), which polling saves for a core spent spinning while
// traffic lasts: worth it only where the loop has a core of its own (on 2
// cores shared with its peers it made no round trip shorter: BENCHMARKS.md,
// issue 24). An idle loop does not spin. Safe from any goroutine; d is
// clamped to [0, MaxBusyPoll].
func (l *Loop) SetBusyPoll(d time.Duration) {
	l.busyPoll.Store(int64(min(max(d, 0), MaxBusyPoll)))
}

// polling reports whether this turn's wait should poll rather than
// sleep: busy polling is on and the loop had work (completions, or mail
// this turn) within its window.
func (l *Loop) polling(mail bool) bool {
	window := l.busyPoll.Load()
	if window <= 0 {
		return false
	}
	if mail {
		l.lastWork = nanotime()
		return true
	}
	return nanotime()-l.lastWork < window
}

// worked notes that the loop had work now, for busy polling.
func (l *Loop) worked() {
	if l.busyPoll.Load() > 0 {
		l.lastWork = nanotime()
	}
}

// yieldCPU lets a thread the kernel woke on this core run before the
// next poll: a spinning loop otherwise holds the core until its time
// slice ends, and the peer it just wrote to (placed here by the waker's
// affinity) waits that long. With it, -latency's 64 B p99 with busy_poll
// went from 176 to 81 µs on this 2-core machine (BENCHMARKS.md).
func yieldCPU() { syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }

// nanotime is monotonic nanoseconds since the package started: one clock
// read (time.Since of a monotonic time), no wall clock.
func nanotime() int64 { return int64(time.Since(epoch)) }

var epoch = time.Now()
