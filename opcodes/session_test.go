package opcodes

import (
	"strings"
	"testing"
)

// TestSessionControlOutputGoesBetweenMessages writes a queue of messages
// and control output in writes of every size: whatever the sizes, the
// byte stream is the messages whole, with each piece of control output
// between two of them (ahead of the first not begun when it was made),
// never inside one; and the queue and the control output are accounted
// apart.
func TestSessionControlOutputGoesBetweenMessages(t *testing.T) {
	for _, step := range []int{1, 2, 3, 5, 7, 11, 64, 1000} {
		pool := &chunkPool{max: 64}
		var q outQueue
		s := &session{done: true}
		msgs := []string{"alpha\n", "bravo-bravo\n", "c\n", "delta-delta-delta\n"}
		for _, m := range msgs {
			q.push(pool, [][]byte{[]byte(m)})
		}
		var out strings.Builder
		pongs := 0
		for q.len() > 0 || len(s.ctl) > 0 || pongs < 3 {
			if pongs < 3 {
				// A ping answered before every write: its pong waits
				// for the end of any message a write has begun.
				s.ctl = append(s.ctl, "PONG\n"...)
				pongs++
			}
			iov := s.iov(&q, nil)
			var flat []byte
			for _, b := range iov {
				flat = append(flat, b...)
			}
			n := min(step, len(flat))
			out.Write(flat[:n])
			k := s.wroteCtl(n)
			q.consume(pool, n-k)
		}
		got := out.String()
		if rest := strings.ReplaceAll(got, "PONG\n", ""); rest != strings.Join(msgs, "") {
			t.Fatalf("writes of %d: got %q: the messages are not whole and in order", step, got)
		}
		if c := strings.Count(got, "PONG\n"); c != 3 {
			t.Fatalf("writes of %d: got %q: %d pongs, want 3", step, got, c)
		}
		lines := strings.SplitAfter(got, "\n")
		for i, l := range lines[:len(lines)-1] {
			if l != "PONG\n" && !strings.Contains(strings.Join(msgs, "|"), strings.TrimSuffix(l, "\n")) {
				t.Fatalf("writes of %d: line %d is %q: cut", step, i, l)
			}
		}
		if q.msgs() != 0 || len(s.ctl) != 0 {
			t.Fatalf("writes of %d: %d messages and %d control bytes left", step, q.msgs(), len(s.ctl))
		}
	}
}

// TestSessionHoldsTheQueueUntilTheHandshake: during the handshake only
// control output is written; the queue waits.
func TestSessionHoldsTheQueueUntilTheHandshake(t *testing.T) {
	pool := &chunkPool{max: 64}
	var q outQueue
	q.push(pool, [][]byte{[]byte("early\n")})
	s := &session{ctl: []byte("HELLO\n")}
	if iov := s.iov(&q, nil); len(iov) != 1 || string(iov[0]) != "HELLO\n" {
		t.Fatalf("in the handshake: iov %q, want the greeting alone", iov)
	}
	s.wroteCtl(6)
	if iov := s.iov(&q, nil); len(iov) != 0 {
		t.Fatalf("in the handshake, greeting written: iov %q, want nothing", iov)
	}
	s.done = true
	if iov := s.iov(&q, nil); len(iov) != 1 || string(iov[0]) != "early\n" {
		t.Fatalf("established: iov %q, want the queued message", iov)
	}
}
