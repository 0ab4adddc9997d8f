package contract

import (
	"testing"
	"time"
)

func TestBackoffDoublesWithJitterAndGivesUp(t *testing.T) {
	p := Backoff{Initial: 100 * time.Millisecond, Max: 400 * time.Millisecond, GiveUp: 2 * time.Second}
	var s BackoffState
	t0 := time.Unix(0, 0)
	wants := []time.Duration{100, 200, 400, 400, 400}
	for i, want := range wants {
		want *= time.Millisecond
		d, ok := s.Next(p, t0.Add(time.Duration(i)*100*time.Millisecond))
		if !ok {
			t.Fatalf("attempt %d: gave up early", i)
		}
		if d < want*3/4 || d > want*5/4 {
			t.Fatalf("attempt %d: delay %v, want %v ±25%%", i, d, want)
		}
	}
	if _, ok := s.Next(p, t0.Add(2*time.Second)); ok {
		t.Fatal("did not give up after GiveUp")
	}
	s.Reset()
	if d, ok := s.Next(p, t0.Add(time.Hour)); !ok || d > 125*time.Millisecond {
		t.Fatalf("after Reset: %v, %v; want the initial delay again", d, ok)
	}
}

func TestBackoffJitterSpreads(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 100 {
		seen[Jitter(time.Second)] = true
	}
	if len(seen) < 50 {
		t.Fatalf("100 jittered delays took only %d values", len(seen))
	}
}
