package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// roomMember is one TCP lines client of a daemon, as a person in a chat room
// or a subscriber of a feed: it reads every line it gets, in the
// background, so that a test can count them.
type roomMember struct {
	name string
	c    *net.TCPConn
	mu   sync.Mutex
	got  []string
	err  error
	sent atomic.Int64 // lines said
}

// joinRoom connects a member to addr and starts reading.
func joinRoom(t *testing.T, name, addr string) *roomMember {
	t.Helper()
	m := &roomMember{name: name, c: dial(t, addr)}
	m.c.SetDeadline(time.Time{}) // reads stop when the test closes the connection
	go func() {
		r := bufio.NewReader(m.c)
		for {
			l, err := r.ReadString('\n')
			m.mu.Lock()
			if err != nil {
				m.err = err
				m.mu.Unlock()
				return
			}
			m.got = append(m.got, strings.TrimRight(l, "\n"))
			m.mu.Unlock()
		}
	}()
	return m
}

func (m *roomMember) say(t *testing.T, line string) {
	t.Helper()
	if err := m.send(line); err != nil {
		t.Fatalf("member %s: %v", m.name, err)
	}
}

// send says line, counting it; safe off the test's goroutine.
func (m *roomMember) send(line string) error {
	m.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	_, err := io.WriteString(m.c, line+"\n")
	if err == nil {
		m.sent.Add(1)
	}
	return err
}

// lines is a copy of what the member got so far.
func (m *roomMember) lines() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.got...)
}

// count is how many lines the member got that keep says count.
func (m *roomMember) count(keep func(string) bool) int {
	n := 0
	for _, l := range m.lines() {
		if keep(l) {
			n++
		}
	}
	return n
}

// has reports whether the member got a line holding s (a feed's
// subscriber gets the subject before the line).
func (m *roomMember) has(s string) bool {
	for _, l := range m.lines() {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// tally counts each line the member got, skipping those of no interest.
func (m *roomMember) tally(keep func(string) bool) map[string]int {
	out := map[string]int{}
	for _, l := range m.lines() {
		if keep(l) {
			out[l]++
		}
	}
	return out
}

// exactlyOnce checks that a member got each line of want once, no other
// line keep counts, and none of its own (lines that start with mine).
func exactlyOnce(t *testing.T, m *roomMember, want []string, keep func(string) bool) {
	t.Helper()
	got := m.tally(keep)
	missing, twice := 0, 0
	for _, w := range want {
		switch got[w] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
		delete(got, w)
	}
	if missing > 0 || twice > 0 || len(got) > 0 {
		var extra []string
		for l := range got {
			extra = append(extra, l)
			if len(extra) == 5 {
				break
			}
		}
		t.Errorf("member %s: %d of %d lines missing, %d more than once, %d not meant for it (e.g. %q)",
			m.name, missing, len(want), twice, len(got), extra)
	}
}

// syncLines has every sender say "sync <name> <n>" until every member has
// heard from every sender it should (hears(member, sender)): a
// subscription made on one NATS node reaches the other nodes of its
// cluster a moment later, and lines sent before would be lost by design.
func syncLines(t *testing.T, senders, members []*roomMember, hears func(m, s *roomMember) bool) {
	t.Helper()
	var missing []string
	for n, deadline := 1, time.Now().Add(ioTimeout); ; n++ {
		for _, s := range senders {
			s.say(t, fmt.Sprintf("sync %s %d", s.name, n))
		}
		time.Sleep(50 * time.Millisecond)
		missing = missing[:0]
		for _, m := range members {
			for _, s := range senders {
				if hears(m, s) && !m.has("sync "+s.name+" ") {
					missing = append(missing, fmt.Sprintf("%s has not heard %s (it got %d lines, e.g. %q)", m.name, s.name, len(m.lines()), first(m.lines(), 3)))
				}
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for every member to hear every sender:\n%s", strings.Join(missing, "\n"))
		}
	}
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

func isSync(l string) bool { return strings.HasPrefix(l, "sync ") }
