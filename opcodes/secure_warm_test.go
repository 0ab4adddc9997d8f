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

// The ring keeps the transports of the warmTransports sessions that used
// theirs last built, rests the one that entered first when another enters,
// and lets a closed conn's session go without resting it.
func TestWarmRingRestsTheOldest(t *testing.T) {
	var ring warmRing
	n := warmTransports + 3
	ts := make([]*restingTransport, n)
	ss := make([]*secureSession, n)
	for i := range n {
		ts[i] = &restingTransport{built: true}
		ss[i] = newSecureSession(ts[i], nil, &ring).(*secureSession)
	}
	for i := range n {
		want := 0
		if i < 3 {
			want = 1 // the first three were pushed out by the last three
		}
		if ts[i].rests != want || ss[i].warm != (want == 0) {
			t.Fatalf("session %d: rested %d times, warm %v; want %d", i, ts[i].rests, ss[i].warm, want)
		}
	}
	// A rested session used again builds its state and enters, pushing
	// out the next oldest (session 3); a warm one used again costs nothing.
	if _, err := ss[0].Seal([]byte("x"), nil); err != nil || !ts[0].built || !ss[0].warm {
		t.Fatalf("session 0 used again: built %v warm %v err %v", ts[0].built, ss[0].warm, err)
	}
	if ts[3].rests != 1 || ss[3].warm {
		t.Fatalf("session 3: rested %d, warm %v; want 1, false", ts[3].rests, ss[3].warm)
	}
	ss[n-1].Seal([]byte("x"), nil)
	if ts[n-1].rests != 0 || ts[4].rests != 0 {
		t.Fatal("a warm session's use rested something")
	}
	// Leaving takes a session out of the ring, unrested.
	ss[5].leave()
	if ss[5].warm || ts[5].rests != 0 {
		t.Fatal("leaving rested the session or left it warm")
	}
	for _, s := range ring.slots {
		if s == ss[5] {
			t.Fatal("the ring still holds a session that left")
		}
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
		ss := newSecureSession(&notifyingTransport{}, leavingSession{}, &warmRing{}).(contract.Leaver)
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
