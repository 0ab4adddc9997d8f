package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints"
	"github.com/pxroute/pxroute/router"
)

// subsFraming is a framing whose sessions subscribe, for tests only (ZMTP
// and NATS bring the real ones): lines under a small protocol, registered
// as endpoint kind tcp-subs. The router greets "HELLO subs"; the peer
// answers "HI" and is welcomed "WELCOME". After that, as a fan-out
// destination, "SUB x" and "UNSUB x" are control lines that subscribe to
// and cancel prefix x (answered "SUBBED x", "REFUSED x", "UNSUBBED x");
// the connection takes nothing until it subscribes. As a fan-out source,
// its session writes "+x" and "-x" when the fan-out's destinations first
// hold, and last release, prefix x: an XSUB's forwarding, in lines.
type subsFraming struct{ contract.Framing }

func (f subsFraming) Name() string { return "test-subs+" + f.Framing.Name() }

func (subsFraming) NewSession(contract.Role) contract.Session { return &subsSession{} }

func (subsFraming) NewSubscriber(_ contract.Role, topics contract.Topics) contract.Session {
	return &subsSession{topics: topics}
}

type subsSession struct{ topics contract.Topics }

func (s *subsSession) Start(out []byte) []byte { return append(out, "HELLO subs\n"...) }

func (s *subsSession) Handshake(in, out []byte) (int, []byte, bool, error) {
	i := bytes.IndexByte(in, '\n')
	switch {
	case i < 0:
		return 0, out, false, nil
	case string(in[:i]) != "HI":
		return 0, out, false, fmt.Errorf("want HI, got %q", in[:i])
	}
	return i + 1, append(out, "WELCOME\n"...), true, nil
}

func (s *subsSession) Control(msg contract.Message, out []byte) (bool, []byte, error) {
	p := msg.Parts[0]
	line := msg.Wire[p.Lo:p.Hi]
	if prefix, ok := bytes.CutPrefix(line, []byte("SUB ")); ok {
		if s.topics.Subscribe(prefix) {
			return true, fmt.Appendf(out, "SUBBED %s\n", prefix), nil
		}
		return true, fmt.Appendf(out, "REFUSED %s\n", prefix), nil
	}
	if prefix, ok := bytes.CutPrefix(line, []byte("UNSUB ")); ok {
		s.topics.Cancel(prefix)
		return true, fmt.Appendf(out, "UNSUBBED %s\n", prefix), nil
	}
	return false, out, nil
}

func (s *subsSession) Subscribe(prefix []byte, on bool, out []byte) []byte {
	sign := byte('-')
	if on {
		sign = '+'
	}
	return append(append(append(out, sign), prefix...), '\n')
}

func (s *subsSession) Close(out []byte) []byte { return out }

var (
	_ contract.Subscriber = subsFraming{}
	_ contract.Session    = (*subsSession)(nil)
	_ contract.Upstream   = (*subsSession)(nil)
)

func init() {
	tcp, ok := endpoints.Lookup("tcp")
	if !ok {
		panic("no tcp endpoint kind")
	}
	endpoints.Register("tcp-subs", func(p endpoints.Params) endpoints.Endpoint {
		e := tcp(p)
		if e != nil {
			e.Settings().Framing = subsFraming{e.Settings().Framing}
		}
		return e
	})
}

// subsPeer is a test client of a tcp-subs endpoint, past its handshake.
type subsPeer struct {
	c  *net.TCPConn
	rd *bufio.Reader
}

func dialSubs(t *testing.T, addr string) *subsPeer {
	t.Helper()
	p := &subsPeer{c: dial(t, addr)}
	p.rd = bufio.NewReader(p.c)
	io.WriteString(p.c, "HI\n")
	expectLines(t, p.rd, "HELLO subs", "WELCOME")
	return p
}

// control sends a control line and waits for its answer.
func (p *subsPeer) control(t *testing.T, line, answer string) {
	t.Helper()
	io.WriteString(p.c, line+"\n")
	expectLines(t, p.rd, answer)
}

// accounted waits until every message offered to endpoint name is
// written, dropped or queued, and returns its figures.
func accounted(t *testing.T, r *router.Router, name string, offered uint64) (e struct {
	Active, Opened, MsgsIn, MsgsOut, Offered uint64
	Queued                                   int64
	Drops                                    map[string]uint64
	Lost                                     map[string]uint64
}) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s: %d offered, each written, dropped or queued", name, offered), func() bool {
		e = endpoint(r.Stats(), name)
		drops := uint64(0)
		for _, n := range e.Drops {
			drops += n
		}
		return e.Offered >= offered && e.Offered == e.MsgsOut+drops+uint64(e.Queued)
	})
	return e
}

// A session subscribes its connection to prefixes, and cancels them,
// through contract.Topics: the connection starts with nothing, holds are
// counted per prefix, and what a connection may hold is bounded as in-band
// subscriptions are.
func TestSessionSubscriptions(t *testing.T) {
	type step struct{ send, answer string }
	cases := []struct {
		name    string
		limits  string // the subscriber endpoint's keys
		route   string // the route's
		script  []step // the subscriber's control lines, each answered
		publish []string
		want    []string // what the subscriber gets (the last is the last published)
		idle    []string // what one that never subscribes gets (declared topics)
		refused map[string]uint64
	}{
		{
			name:    "starts-with-nothing-takes-only-what-it-subscribes-to",
			script:  []step{{"SUB a.", "SUBBED a."}},
			publish: []string{"b.1", "a.1", "", "ab", "a.2"},
			want:    []string{"a.1", "a.2"},
		},
		{
			name: "twice-subscribed-once-cancelled-is-still-subscribed",
			script: []step{
				{"SUB a.", "SUBBED a."}, {"SUB a.", "SUBBED a."}, {"UNSUB a.", "UNSUBBED a."},
				{"SUB b.", "SUBBED b."}, {"UNSUB b.", "UNSUBBED b."},
			},
			publish: []string{"b.1", "a.1", "b.2", "a.2"},
			want:    []string{"a.1", "a.2"},
		},
		{
			name: "a-cancel-of-a-prefix-not-held-is-ignored",
			script: []step{
				{"UNSUB never", "UNSUBBED never"},
				{"SUB a.", "SUBBED a."}, {"UNSUB a.", "UNSUBBED a."}, {"UNSUB a.", "UNSUBBED a."}, // one too many
				{"SUB a.", "SUBBED a."}, // held again, not back to zero
			},
			publish: []string{"never.1", "a.1"},
			want:    []string{"a.1"},
		},
		{
			name:   "bounded-by-max-topics-and-max-topic-bytes-refusals-counted",
			limits: ", max_topics: 2, max_topic_bytes: 4",
			script: []step{
				{"SUB a.", "SUBBED a."}, {"SUB a.", "SUBBED a."}, // a second hold takes no place
				{"SUB bb.", "SUBBED bb."},
				{"SUB cc.", "REFUSED cc."},                               // a third place
				{"SUB long.", "REFUSED long."},                           // 5 bytes
				{"UNSUB cc.", "UNSUBBED cc."},                            // refused: not held, ignored
				{"UNSUB bb.", "UNSUBBED bb."}, {"SUB cc.", "SUBBED cc."}, // bb.'s place goes to cc.
			},
			publish: []string{"a.1", "bb.1", "cc.1", "long.1", "a.2"},
			want:    []string{"a.1", "cc.1", "a.2"},
			refused: map[string]uint64{"max_topics": 1, "max_topic_bytes": 1},
		},
		{
			name:    "a-declared-topic-outlives-the-sessions-holds-on-it",
			route:   ", topics: {feed: [d.]}",
			script:  []step{{"SUB d.", "SUBBED d."}, {"SUB d.", "SUBBED d."}, {"UNSUB d.", "UNSUBBED d."}, {"UNSUB d.", "UNSUBBED d."}},
			publish: []string{"d.1", "e.1", "d.2"},
			want:    []string{"d.1", "d.2"},
			idle:    []string{"d.1", "d.2"},
		},
	}
	for i := range cases {
		if cases[i].refused == nil {
			cases[i].refused = map[string]uint64{}
		}
	}
	for _, v := range variants() {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				r := start(t, v, `
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  feed: {kind: tcp-subs, listen: "127.0.0.1:0", framing: lines`+tc.limits+`}
routes:
  - {pattern: fanout, from: pub, to: feed`+tc.route+`}
`)
				sub := dialSubs(t, r.Addr("feed"))
				idle := dialSubs(t, r.Addr("feed")) // never subscribes
				for _, s := range tc.script {
					sub.control(t, s.send, s.answer)
				}
				pub := dial(t, r.Addr("pub"))
				io.WriteString(pub, strings.Join(tc.publish, "\n")+"\n")
				if got := readLines(t, sub.rd, len(tc.want)); !slices.Equal(got, tc.want) {
					t.Errorf("subscriber got %q, want %q", got, tc.want)
				}
				// The idle one got nothing (but declared topics): once it
				// subscribes, what the publisher sends next comes after
				// all it sent before.
				io.WriteString(idle.c, "SUB zz\n")
				var idleGot []string
				for l := readLines(t, idle.rd, 1)[0]; l != "SUBBED zz"; l = readLines(t, idle.rd, 1)[0] {
					idleGot = append(idleGot, l) // control output goes between messages
				}
				io.WriteString(pub, "zz.end\n")
				for l := readLines(t, idle.rd, 1)[0]; l != "zz.end"; l = readLines(t, idle.rd, 1)[0] {
					idleGot = append(idleGot, l)
				}
				if !slices.Equal(idleGot, tc.idle) {
					t.Errorf("the idle subscriber got %q, want %q", idleGot, tc.idle)
				}
				offered := uint64(len(tc.want) + len(tc.idle) + 1)
				if e := accounted(t, r, "feed", offered); e.Offered != offered || e.MsgsOut != offered {
					t.Errorf("feed: offered %d, written %d; want %d each", e.Offered, e.MsgsOut, offered)
				}
				if s := epStats(r.Stats(), "feed"); s.ControlIn != uint64(len(tc.script)+1) {
					t.Errorf("feed: %d control messages in, want %d", s.ControlIn, len(tc.script)+1)
				}
				if got := nonZero(topicsRefused(r.Stats(), "feed")); fmt.Sprint(got) != fmt.Sprint(tc.refused) {
					t.Errorf("subscriptions refused %v, want %v", got, tc.refused)
				}
			})
		}
	}
}

// Subscriptions filter before anything is queued: a subscriber that stops
// reading is offered only what it subscribed to, and drops only that,
// counted; a reader subscribed to the rest is unaffected.
func TestSessionSubscriptionsFilterBeforeQueueing(t *testing.T) {
	const stuckMsgs, readerMsgs = 4000, 100
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, `
endpoints:
  pub:   {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  feed:  {kind: tcp-subs, listen: "127.0.0.1:0", framing: lines, sndbuf: 4KiB, overflow: drop-newest, high_water: 16KiB, high_water_msgs: 64}
  watch: {kind: tcp-subs, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: [feed, watch]}
`)
			stuck, reader := dialSubs(t, r.Addr("feed")), dialSubs(t, r.Addr("watch"))
			stuck.c.SetReadBuffer(4096)
			stuck.control(t, "SUB a.", "SUBBED a.")
			reader.control(t, "SUB b.", "SUBBED b.")
			pad := strings.Repeat("x", 1000)
			var lines []string
			for i := range stuckMsgs {
				lines = append(lines, fmt.Sprintf("a.%d %s", i, pad))
				if i%(stuckMsgs/readerMsgs) == 0 {
					lines = append(lines, fmt.Sprintf("b.%d", i))
				}
			}
			pub := dial(t, r.Addr("pub"))
			go io.WriteString(pub, strings.Join(lines, "\n")+"\n")
			for i, l := range readLines(t, reader.rd, readerMsgs) {
				if want := fmt.Sprintf("b.%d", i*(stuckMsgs/readerMsgs)); l != want {
					t.Fatalf("reader's line %d: %q, want %q", i, l, want)
				}
			}
			f := accounted(t, r, "feed", stuckMsgs)
			if f.Offered != stuckMsgs || f.Drops["hwm"] == 0 {
				t.Errorf("stuck subscriber: offered %d (want %d: its topic only), drops %v (want some at hwm)", f.Offered, stuckMsgs, nonZero(f.Drops))
			}
			t.Logf("stuck subscriber: offered %d, written %d, queued %d, drops %v", f.Offered, f.MsgsOut, f.Queued, nonZero(f.Drops))
			w := accounted(t, r, "watch", readerMsgs)
			if w.Offered != readerMsgs || w.MsgsOut != readerMsgs || len(nonZero(w.Drops)) != 0 {
				t.Errorf("reader: offered %d, written %d, drops %v; want %d, %d, none", w.Offered, w.MsgsOut, nonZero(w.Drops), readerMsgs, readerMsgs)
			}
		})
	}
}

// A fan-out's subscriptions, over all its destinations and loops, reach
// the sessions of its sources: a prefix's first hold and last release
// each once, in order, to a source there already and to one connecting
// later (which starts with the current set); a destination that filters
// nothing holds the empty prefix.
func TestSessionSubscriptionsGoUpstream(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, `
endpoints:
  up:    {kind: tcp-subs, listen: "127.0.0.1:0", framing: lines}
  feed:  {kind: tcp-subs, listen: "127.0.0.1:0", framing: lines}
  plain: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: up, to: [feed, plain]}
`)
			early := dialSubs(t, r.Addr("up"))
			x, y := dialSubs(t, r.Addr("feed")), dialSubs(t, r.Addr("feed"))
			x.control(t, "SUB a.", "SUBBED a.")     // +a.
			y.control(t, "SUB a.", "SUBBED a.")     // held already: nothing
			x.control(t, "SUB a.", "SUBBED a.")     // a second hold: nothing
			x.control(t, "UNSUB a.", "UNSUBBED a.") // x still holds it once
			y.control(t, "UNSUB a.", "UNSUBBED a.") // nothing
			x.control(t, "UNSUB a.", "UNSUBBED a.") // -a.
			y.control(t, "SUB b.", "SUBBED b.")     // +b.
			x.control(t, "SUB q.", "SUBBED q.")     // +q.
			expectLines(t, early.rd, "+a.", "-a.", "+b.", "+q.")

			x.c.Close() // its q. goes with it
			expectLines(t, early.rd, "-q.")
			plain := dial(t, r.Addr("plain")) // takes everything: the empty prefix
			expectLines(t, early.rd, "+")

			late := dialSubs(t, r.Addr("up"))
			got := readLines(t, late.rd, 2)
			slices.Sort(got)
			if want := []string{"+", "+b."}; !slices.Equal(got, want) {
				t.Errorf("a source connecting later heard %q, want %q", got, want)
			}
			plain.Close()
			for _, src := range []*subsPeer{early, late} {
				expectLines(t, src.rd, "-")
			}
			y.control(t, "UNSUB b.", "UNSUBBED b.")
			for _, src := range []*subsPeer{early, late} {
				expectLines(t, src.rd, "-b.")
			}
			// What the sources publish reaches only what is subscribed.
			y.control(t, "SUB c.", "SUBBED c.")
			expectLines(t, late.rd, "+c.")
			io.WriteString(late.c, "b.1\nc.1\n")
			expectLines(t, y.rd, "c.1")
			accounted(t, r, "feed", 1)
		})
	}
}

// nonZero returns the figures of m that are not zero.
func nonZero(m map[string]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for k, n := range m {
		if n != 0 {
			out[k] = n
		}
	}
	return out
}

// acceptor is a Go server pxroute connects to: the connections it
// accepts, in order.
func acceptor(t *testing.T) (addr string, conns <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ch <- c
		}
	}()
	return ln.Addr().String(), ch
}

// acceptSubs takes the next connection pxroute made to a Go server and
// answers its handshake.
func acceptSubs(t *testing.T, conns <-chan net.Conn) *subsPeer {
	t.Helper()
	var c net.Conn
	select {
	case c = <-conns:
	case <-timeoutC():
		t.Fatal("pxroute did not connect")
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(ioTimeout))
	p := &subsPeer{c: c.(*net.TCPConn), rd: bufio.NewReader(c)}
	io.WriteString(p.c, "HI\n")
	expectLines(t, p.rd, "HELLO subs", "WELCOME")
	return p
}

// Connections pxroute makes keep the seam across reconnects: a subscriber
// that goes down releases what its session held (the next session
// subscribes afresh, as a ZeroMQ SUB does), and a source that reconnects
// hears the current subscriptions once, then their changes.
func TestSessionSubscriptionsAcrossReconnects(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			pubAddr, pubs := acceptor(t) // the publisher pxroute's source subscribes to
			subAddr, subs := acceptor(t) // the subscriber pxroute's destination serves
			r := start(t, v, fmt.Sprintf(`
endpoints:
  up:   {kind: tcp-subs, connect: %q, framing: lines, reconnect_initial: 10ms}
  feed: {kind: tcp-subs, connect: %q, framing: lines, reconnect_initial: 10ms}
routes:
  - {pattern: fanout, from: up, to: feed}
`, pubAddr, subAddr))
			sub1 := acceptSubs(t, subs)
			sub1.control(t, "SUB a.", "SUBBED a.")
			pub1 := acceptSubs(t, pubs)
			expectLines(t, pub1.rd, "+a.") // once, whether it synced before or after
			sub1.c.Close()
			expectLines(t, pub1.rd, "-a.")
			sub2 := acceptSubs(t, subs)
			sub2.control(t, "SUB b.", "SUBBED b.")
			expectLines(t, pub1.rd, "+b.")
			pub1.c.Close()
			pub2 := acceptSubs(t, pubs)
			sub2.control(t, "SUB c.", "SUBBED c.")
			expectLines(t, pub2.rd, "+b.", "+c.")
			io.WriteString(pub2.c, "a.1\nc.1\n")
			expectLines(t, sub2.rd, "c.1")
			accounted(t, r, "feed", 1)
		})
	}
}
