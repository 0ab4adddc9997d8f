package endpoints

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/pxroute/pxroute/contract"
)

// recordTopics is a contract.Topics that records what it is told.
type recordTopics struct{ calls []string }

func (r *recordTopics) Subscribe(p []byte) bool {
	r.calls = append(r.calls, "+"+string(p))
	return true
}
func (r *recordTopics) Cancel(p []byte) { r.calls = append(r.calls, "-"+string(p)) }

// TestZMTPPubSubscriptionsGoToTopics: on pub and xpub, SUBSCRIBE and
// CANCEL (3.1) and \x01 and \x00 messages (3.0) become the machine's
// holds, each as it comes (the machine counts them); a message that is
// not a subscription is control and changes nothing. Only pub and xpub
// framings are Subscribers, and only xsub sessions forward upstream.
func TestZMTPPubSubscriptionsGoToTopics(t *testing.T) {
	for _, typ := range []zmtpSocket{zmtpPub, zmtpXPub} {
		f := testZMTP(typ)
		fr := newZMTPFraming(f)
		sub, ok := fr.(contract.Subscriber)
		if !ok {
			t.Fatalf("%s: framing is no contract.Subscriber", typ)
		}
		topics := &recordTopics{}
		if s := sub.NewSubscriber(contract.RoleListen, topics).(*zmtpSession); s.topics != topics {
			t.Fatalf("%s: NewSubscriber did not give the session its topics", typ)
		}
		s, _ := established(t, f, "SUB", 1)
		s.topics = topics
		for _, w := range [][]byte{
			appendZMTPCmd(nil, "SUBSCRIBE", []byte("a.")),
			zmtpWire(f, []byte("\x01a.")),
			zmtpWire(f, []byte("\x01")),
			appendZMTPCmd(nil, "CANCEL", []byte("a.")),
			zmtpWire(f, []byte("\x00b")),
			zmtpWire(f, []byte("\x01x"), []byte("two parts: not a subscription")),
			zmtpWire(f, []byte("data")),
		} {
			if ctl, out, err := control(t, s, w); !ctl || err != nil || len(out) > 0 {
				t.Fatalf("%s %q: control %v, %q, %v", typ, w, ctl, out, err)
			}
		}
		if got := fmt.Sprint(topics.calls); got != "[+a. +a. + -a. -b]" {
			t.Fatalf("%s: topics told %s", typ, got)
		}
	}
	for _, typ := range []zmtpSocket{zmtpSub, zmtpXSub, zmtpPush, zmtpPair} {
		fr := newZMTPFraming(testZMTP(typ))
		if _, ok := fr.(contract.Subscriber); ok {
			t.Fatalf("%s: framing is a contract.Subscriber", typ)
		}
		_, up := fr.(contract.Sessioned).NewSession(contract.RoleConnect).(contract.Upstream)
		if up != (typ == zmtpXSub) {
			t.Fatalf("%s: session forwards upstream: %v", typ, up)
		}
		if zmtpOf(fr) == nil {
			t.Fatalf("%s: zmtpOf lost the framing", typ)
		}
	}
}

// TestZMTPXSubForwardsUpstream: an xsub sends its subscribe: list on
// connect, then the fan-out's changes; a prefix it already sent is not
// sent again, and its static prefixes are never cancelled. A 3.1 peer
// gets SUBSCRIBE and CANCEL, a 3.0 peer \x01 and \x00 messages.
func TestZMTPXSubForwardsUpstream(t *testing.T) {
	f := testZMTP(zmtpXSub) // subscribe: ["t."]
	fr := newZMTPFraming(f).(contract.Sessioned)
	for _, minor := range []byte{0, 1} {
		wire := func(on bool, p string) []byte {
			if minor == 1 {
				return appendZMTPCmd(nil, map[bool]string{true: "SUBSCRIBE", false: "CANCEL"}[on], []byte(p))
			}
			return zmtpWire(f, append([]byte{map[bool]byte{true: 1, false: 0}[on]}, p...))
		}
		s := fr.NewSession(contract.RoleConnect)
		s.Start(nil)
		g := appendZMTPGreeting(nil, "NULL", false)
		g[11] = minor
		in := append(g, appendZMTPCmd(nil, "READY", appendZMTPProps(nil, zmtpProp{"Socket-Type", "XPUB"}))...)
		var out []byte
		for done := false; !done; {
			n, o, d, err := s.Handshake(in, out)
			if err != nil || (n == 0 && !d) {
				t.Fatalf("handshake: %d, %v", n, err)
			}
			in, out, done = in[n:], o, d
		}
		if !bytes.HasSuffix(out, wire(true, "t.")) {
			t.Fatalf("3.%d: no subscribe: list after the handshake: %q", minor, out)
		}
		up := s.(contract.Upstream)
		for _, c := range []struct {
			prefix string
			on     bool
			want   []byte
		}{
			{"a.", true, wire(true, "a.")},
			{"t.", true, nil}, // held by subscribe: already
			{"", true, wire(true, "")},
			{"a.", false, wire(false, "a.")},
			{"t.", false, nil}, // subscribe: still holds it
			{"never", false, nil},
			{"", false, wire(false, "")},
		} {
			if got := up.Subscribe([]byte(c.prefix), c.on, nil); !bytes.Equal(got, c.want) {
				t.Fatalf("3.%d: %q on %v sent %q, want %q", minor, c.prefix, c.on, got, c.want)
			}
		}
	}
}
