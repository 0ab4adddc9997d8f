package opcodes

import (
	"testing"

	"github.com/pxroute/pxroute/contract"
)

// restingTransport counts its rests and its uses since the last one.
type restingTransport struct {
	contract.Transport
	rests int
	built bool
}

func (t *restingTransport) Rest() { t.rests++; t.built = false }
func (t *restingTransport) Seal(p, out []byte) ([]byte, error) {
	t.built = true
	return append(out, p...), nil
}

// warmTest is a sealing conn's session over a resting transport, its
// buffers filled as bulk traffic leaves them.
func warmTest(inner contract.Session) (*session, *restingTransport) {
	t := &restingTransport{built: true}
	ss := newSecureSession(t, inner)
	s := &session{s: ss, done: true, seals: true}
	s.seal = newSealing(ss.(contract.Opener))
	s.seal.in = make([]byte, 0, 64<<10)
	s.seal.sealOut = &sealOut{plain: make([]byte, 0, 64<<10), wire: make([]byte, 0, 64<<10)}
	return s, t
}

// onConn is s's ring entry, on an idle conn of its own with output
// scratch from its past writes.
func onConn(s *session) warmEntry {
	c := &conn{sess: s, iovs: make([][]byte, 0, 4)}
	c.out.segs, c.out.ends = make([]seg, 0, 4), make([]int, 0, 4)
	return warmEntry{c, s}
}

func (s *session) holdsBuffers() bool {
	return s.seal.in != nil && s.seal.sealOut != nil
}

// The ring keeps the buffers and built transports of the warmSessions
// sessions that read or wrote last, rests the one that entered first when
// another enters, and lets a closed conn's session go without resting it.
func TestWarmRingRestsTheOldest(t *testing.T) {
	var ring warmRing
	n := warmSessions + 3
	ts := make([]*restingTransport, n)
	ss := make([]*session, n)
	for i := range n {
		ss[i], ts[i] = warmTest(nil)
		ring.enter(onConn(ss[i]))
	}
	for i := range n {
		want := 0
		if i < 3 {
			want = 1 // the first three were pushed out by the last three
		}
		if ts[i].rests != want || ss[i].warm != (want == 0) || ss[i].holdsBuffers() != (want == 0) {
			t.Fatalf("session %d: rested %d times, warm %v, buffers kept %v; want %d", i, ts[i].rests, ss[i].warm, ss[i].holdsBuffers(), want)
		}
	}
	// A rested session used again enters, pushing out the next oldest
	// (session 3); a warm one used again costs nothing.
	ring.enter(onConn(ss[0]))
	if !ss[0].warm {
		t.Fatal("session 0 used again is not warm")
	}
	if _, err := ss[0].s.(contract.Sealer).Seal([]byte("x"), nil); err != nil || !ts[0].built {
		t.Fatalf("session 0 used again: built %v err %v", ts[0].built, err)
	}
	if ts[3].rests != 1 || ss[3].warm || ss[3].holdsBuffers() {
		t.Fatalf("session 3: rested %d, warm %v, buffers kept %v; want 1, false, false", ts[3].rests, ss[3].warm, ss[3].holdsBuffers())
	}
	ring.enter(onConn(ss[n-1]))
	if ts[n-1].rests != 0 || ts[4].rests != 0 {
		t.Fatal("a warm session's use rested something")
	}
	// Leaving takes a session out of the ring, unrested.
	ring.leave(ss[5])
	if ss[5].warm || ts[5].rests != 0 || !ss[5].holdsBuffers() {
		t.Fatal("leaving rested the session or left it warm")
	}
	for _, e := range ring.slots {
		if e.s == ss[5] {
			t.Fatal("the ring still holds a session that left")
		}
	}
}

// The sweep rests the sessions not used since the one before, whose
// slots the next to enter fill first, and keeps those used meanwhile.
func TestWarmRingSweepRestsTheIdle(t *testing.T) {
	var ring warmRing
	ss := make([]*session, 4)
	ts := make([]*restingTransport, 4)
	for i := range ss {
		ss[i], ts[i] = warmTest(nil)
		ss[i].recent = true // as warmUse marks it
		ring.enter(onConn(ss[i]))
	}
	if !ring.sweep() {
		t.Fatal("the first sweep after use found nothing warm")
	}
	for _, s := range ss {
		if !s.warm || !s.holdsBuffers() {
			t.Fatal("a session used since the last sweep rested")
		}
	}
	ss[1].recent = true // used between the sweeps
	if !ring.sweep() {
		t.Fatal("the sweep found nothing warm, though session 1 was used")
	}
	for i, s := range ss {
		idle := i != 1
		if s.warm == idle || s.holdsBuffers() == idle || ts[i].rests != map[bool]int{true: 1, false: 0}[idle] {
			t.Fatalf("session %d (idle %v): warm %v, buffers kept %v, rests %d", i, idle, s.warm, s.holdsBuffers(), ts[i].rests)
		}
	}
	if ring.sweep() {
		t.Fatal("a sweep after no use at all kept something warm")
	}
	if ss[1].warm || ts[1].rests != 1 {
		t.Fatal("session 1, idle for a sweep, did not rest")
	}
	// Entering fills the freed slots, evicting nothing.
	n, _ := warmTest(nil)
	ring.enter(onConn(n))
	if len(ring.slots) != 4 || len(ring.holes) != 3 || !n.warm {
		t.Fatalf("entering after the sweeps: %d slots, %d holes; want 4 and 3", len(ring.slots), len(ring.holes))
	}
}

// A session resting with a batch under way keeps the batch (a write holds
// it) and lets the rest go; a secured session's inner scratch goes too.
func TestWarmRingRestKeepsAWriteUnderWay(t *testing.T) {
	s, tr := warmTest(leavingSession{})
	s.seal.wire = append(s.seal.wire, "sealed, half written"...)
	in := s.s.(*secureSession).in
	in.buf, in.msgs, in.plain = make([]byte, 0, 4096), make([]byte, 0, 4096), []byte("left by the handshake")
	s.rest()
	if s.seal.in != nil || s.seal.sealOut == nil || s.seal.wire == nil || s.seal.plain == nil || tr.rests != 1 {
		t.Fatalf("rested: in kept %v, output kept %v, transport rests %d; want false, true, 1",
			s.seal.in != nil, s.seal.sealOut != nil, tr.rests)
	}
	if in.buf != nil || in.msgs != nil || string(in.plain) != "left by the handshake" {
		t.Fatalf("inner scratch after rest: buf %v msgs %v plain %q", in.buf != nil, in.msgs != nil, in.plain)
	}
}

// leavingSession says which of its last words it was asked for.
type leavingSession struct{ contract.Session }

func (leavingSession) Close(out []byte) []byte { return append(out, "close"...) }
func (leavingSession) Leave(out []byte) []byte { return append(out, "leave"...) }

// A secured session's last words are its inner session's Leave when the
// router stops (wss: 1001), its Close otherwise, sealed, then TLS's
// close_notify.
func TestSecureSessionLeavesThroughItsInner(t *testing.T) {
	for _, tc := range []struct {
		leaving bool
		want    string
	}{{false, "close|notify"}, {true, "leave|notify"}} {
		ss := newSecureSession(&notifyingTransport{}, leavingSession{}).(contract.Leaver)
		var got []byte
		if tc.leaving {
			got = ss.Leave(nil)
		} else {
			got = ss.(contract.Session).Close(nil)
		}
		if string(got) != tc.want {
			t.Errorf("leaving %v: last words %q, want %q", tc.leaving, got, tc.want)
		}
	}
}

// notifyingTransport seals as is and says "|notify" for close_notify.
type notifyingTransport struct{ restingTransport }

func (*notifyingTransport) CloseNotify(out []byte) []byte { return append(out, "|notify"...) }

// A conn whose queue was written out keeps no pointer to what it wrote in
// its iovec scratch, whether from the last write or an earlier, longer one.
func TestEmptiedLetsGoOfTheLastWrites(t *testing.T) {
	c := &conn{iovs: make([][]byte, 3, 4)}
	for i := range c.iovs[:cap(c.iovs)] {
		c.iovs[:cap(c.iovs)][i] = make([]byte, 1<<10)
	}
	c.iovs = c.iovs[:2] // the last write had two; an earlier one four
	m := &Machine{busy: 1}
	m.emptied(c)
	for i, b := range c.iovs[:cap(c.iovs)] {
		if b != nil {
			t.Fatalf("iov %d still points at a written buffer", i)
		}
	}
}

// Resting a session lets its idle conn's output scratch go (the queue's
// arrays, the last write's iovecs); a conn with a message queued or a
// write in flight keeps it, and so does a conn whose session the entry
// no longer is (a reconnect's).
func TestRestLetsGoOfAnIdleConnsOutputScratch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(e warmEntry)
		kept  bool
	}{
		{"idle", func(warmEntry) {}, false},
		{"a message queued", func(e warmEntry) { e.c.out.ends = append(e.c.out.ends, 10) }, true},
		{"bytes queued", func(e warmEntry) { e.c.out.segs = append(e.c.out.segs, seg{b: []byte("partial")}) }, true},
		{"a write in flight", func(e warmEntry) { e.c.sending = true }, true},
		{"the conn's session is another", func(e warmEntry) { e.c.sess = &session{} }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, tr := warmTest(nil)
			e := onConn(s)
			tc.setup(e)
			e.s.warm = true
			e.rest()
			kept := e.c.out.segs != nil && e.c.out.ends != nil && e.c.iovs != nil
			if kept != tc.kept || s.warm || tr.rests != 1 {
				t.Fatalf("output scratch kept %v (want %v), session warm %v, transport rests %d (want 1)", kept, tc.kept, s.warm, tr.rests)
			}
		})
	}
}
