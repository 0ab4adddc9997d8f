package endpoints

import (
	"bytes"
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
