package endpoints

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/pxroute/pxroute/contract"
)

// established runs a NULL handshake with a peer of socket type peer and
// version 3.minor, returning the session and what it sent after our
// greeting (our READY, then any subscriptions).
func established(t *testing.T, f *zmtpFraming, peer string, minor byte) (*zmtpSession, []byte) {
	t.Helper()
	s := newZMTPSession(f, contract.RoleConnect)
	s.Start(nil)
	g := appendZMTPGreeting(nil, "NULL", false)
	g[11] = minor
	in := append(g, appendZMTPCmd(nil, "READY", appendZMTPProps(nil, zmtpProp{"Socket-Type", peer}))...)
	var out []byte
	for done := false; !done; {
		n, o, d, err := s.Handshake(in, out)
		if err != nil || (n == 0 && !d) {
			t.Fatalf("handshake: %d, %v", n, err)
		}
		in, out, done = in[n:], o, d
	}
	return s, out
}

// control feeds one framed message to s.
func control(t *testing.T, s *zmtpSession, wire []byte) (bool, []byte, error) {
	t.Helper()
	_, parts, err := s.f.SplitParts(wire, len(wire), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s.Control(contract.Message{Wire: wire, Parts: parts}, nil)
}

// TestZMTPSubscriptionCounts: on pub, SUBSCRIBE and CANCEL (3.1) and
// \x01 and \x00 messages (3.0) count per prefix, as libzmq does (two
// subscriptions need two cancels), each reported through the seam.
func TestZMTPSubscriptionCounts(t *testing.T) {
	f := testZMTP(zmtpPub)
	s, _ := established(t, f, "SUB", 1)
	var seen []string
	s.OnSubscription(func(prefix []byte, sub bool) { seen = append(seen, fmt.Sprintf("%v:%s", sub, prefix)) })
	for _, w := range [][]byte{
		appendZMTPCmd(nil, "SUBSCRIBE", []byte("a.")),
		zmtpWire(f, []byte("\x01a.")),
		zmtpWire(f, []byte("\x01b")),
		appendZMTPCmd(nil, "CANCEL", []byte("a.")),
		zmtpWire(f, []byte("\x00b")),
		zmtpWire(f, []byte("\x00never")),
	} {
		if ctl, _, err := control(t, s, w); !ctl || err != nil {
			t.Fatalf("%q: control %v, %v", w, ctl, err)
		}
	}
	if got := fmt.Sprint(s.Subscriptions()); got != "map[a.:1]" {
		t.Fatalf("subscriptions %s, want map[a.:1]", got)
	}
	if got := fmt.Sprint(seen); got != "[true:a. true:a. true:b false:a. false:b]" {
		t.Fatalf("reported %s", got)
	}
	for i := range 4 {
		control(t, s, appendZMTPCmd(nil, "SUBSCRIBE", fmt.Appendf(nil, "t%d", i)))
	}
	if _, _, err := control(t, s, appendZMTPCmd(nil, "SUBSCRIBE", bytes.Repeat([]byte("x"), 65))); err == nil {
		t.Fatal("a prefix over max_topic_bytes was taken")
	}
	if _, _, err := control(t, s, appendZMTPCmd(nil, "SUBSCRIBE", []byte("one too many"))); err == nil {
		t.Fatal("a subscription over max_topics was taken")
	}
}

// TestZMTPSubscribeOnConnect: sub sends subscribe: after the handshake,
// as SUBSCRIBE commands to a 3.1 peer and \x01 messages to a 3.0 one.
func TestZMTPSubscribeOnConnect(t *testing.T) {
	f := testZMTP(zmtpSub)
	ready := appendZMTPCmd(nil, "READY", appendZMTPProps(nil, zmtpProp{"Socket-Type", "SUB"}, zmtpProp{"Identity", ""}))
	for minor, want := range map[byte][]byte{
		1: append(append([]byte{}, ready...), appendZMTPCmd(nil, "SUBSCRIBE", []byte("t."))...),
		0: append(append([]byte{}, ready...), zmtpWire(f, []byte("\x01t."))...),
	} {
		if _, out := established(t, f, "PUB", minor); !bytes.Equal(out, want) {
			t.Fatalf("3.%d peer: sent %q, want %q", minor, out, want)
		}
	}
}
