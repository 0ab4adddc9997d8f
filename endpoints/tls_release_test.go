package endpoints

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pxroute/pxroute/contract"
)

// TestBurstRelease: the handshakes' garbage is given back once per burst
// of at least min handshakes, only after quiet without one, and never
// while they keep ending.
func TestBurstRelease(t *testing.T) {
	const quiet = 200 * time.Millisecond
	tests := []struct {
		name   string
		events int
		gap    time.Duration // between events
		want   int32         // frees once quiet has passed after the last
	}{
		{"a burst of min frees once", 8, 0, 1},
		{"fewer than min do not free", 7, 0, 0},
		{"a slow stream frees once, after its last", 8, quiet / 10, 1},
		{"two bursts' worth in one frees once", 16, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var frees atomic.Int32
			r := &burstRelease{quiet: quiet, min: 8, every: time.Hour, free: func() { frees.Add(1) }}
			for range tc.events {
				r.note()
				time.Sleep(tc.gap)
				if n := frees.Load(); n != 0 {
					t.Fatalf("freed %d times while handshakes kept ending", n)
				}
			}
			settle(t, r)
			if n := frees.Load(); n != tc.want {
				t.Fatalf("freed %d times, want %d", n, tc.want)
			}
		})
	}
}

// TestTLSPoolNotesHandshakes: every handshake the pool ends, however it
// ends, counts toward the release.
func TestTLSPoolNotesHandshakes(t *testing.T) {
	e := poolTestServer(t, map[string]any{"handshake_timeout": "200ms"})
	handshakeGarbage.mu.Lock()
	before := handshakeGarbage.total
	handshakeGarbage.mu.Unlock()
	const n = 3
	var results []<-chan secureResult
	for range n {
		fd, _ := loopbackPair(t) // silent peers: each ends at the timeout
		ch, _ := secure(t, e, fd)
		results = append(results, ch)
	}
	for _, ch := range results {
		if r := waitResult(t, ch, 5*time.Second); contract.SecureReasonOf(r.err) != contract.SecureTimeout {
			t.Fatalf("result %v, want a timeout", r.err)
		}
	}
	handshakeGarbage.mu.Lock()
	got := handshakeGarbage.total - before
	handshakeGarbage.mu.Unlock()
	if got != n {
		t.Fatalf("%d handshakes noted, want %d", got, n)
	}
}

// TestBurstReleaseAtMostEvery: a second burst right after a release is
// freed only once every has passed since it, however many bursts came.
func TestBurstReleaseAtMostEvery(t *testing.T) {
	const quiet, every = 100 * time.Millisecond, 3 * time.Second
	var frees atomic.Int32
	r := &burstRelease{quiet: quiet, min: 4, every: every, free: func() { frees.Add(1) }}
	burst := func() {
		for range 4 {
			r.note()
		}
	}
	burst()
	settle(t, r)
	if n := frees.Load(); n != 1 {
		t.Fatalf("the first burst freed %d times, want 1", n)
	}
	burst()
	time.Sleep(6 * quiet) // well past quiet, well before every
	if n := frees.Load(); n != 1 {
		t.Fatalf("freed %d times before every passed, want 1", n)
	}
	burst()
	settle(t, r)
	if n := frees.Load(); n != 2 {
		t.Fatalf("freed %d times once every passed, want 2", n)
	}
}

// settle waits for r's timer to fire for the last time (armed is false
// once it has).
func settle(t *testing.T, r *burstRelease) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		armed := r.armed
		r.mu.Unlock()
		if !armed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the release timer never settled")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
