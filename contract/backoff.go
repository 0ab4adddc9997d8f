package contract

import (
	"math/rand/v2"
	"time"
)

// Backoff spaces out retries (reconnects, restarts): exponential delays
// with jitter, so that many peers cut off together do not come back
// together. Initial, doubling up to Max; GiveUp > 0 ends the retries once
// that long has passed since the first failure.
type Backoff struct {
	Initial, Max, GiveUp time.Duration
}

// BackoffState is one retrier's place in its schedule.
type BackoffState struct {
	next  time.Duration
	since time.Time // the first failure of this run of failures
}

// Next returns the delay before the next attempt, or false when the policy
// gives up. now is the time of the failure.
func (s *BackoffState) Next(p Backoff, now time.Time) (time.Duration, bool) {
	if s.since.IsZero() {
		s.since, s.next = now, p.Initial
	}
	if p.GiveUp > 0 && now.Sub(s.since) >= p.GiveUp {
		return 0, false
	}
	d := Jitter(s.next)
	s.next = min(2*s.next, p.Max)
	return d, true
}

// Reset starts the schedule over: the last attempt succeeded.
func (s *BackoffState) Reset() { *s = BackoffState{} }

// Jitter spreads d uniformly over [0.75d, 1.25d).
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d*3/4 + rand.N(d/2+1)
}
