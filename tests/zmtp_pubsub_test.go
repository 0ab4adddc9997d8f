package tests

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// ZeroMQ PUB/SUB through pxroute with pyzmq (libzmq 4.3) as the real
// peers: pub and xpub filter by their subscribers' subscriptions before
// queueing (the first part, by prefix), xsub forwards the subscriptions
// upstream as zmq_proxy does, sub and xsub resubscribe on reconnect, and
// a SUB that stops reading costs only itself, counted.

// zmtpPubSubCases run over every variant.
var zmtpPubSubCases = []zmtpCase{
	{"pub-filters-by-each-pyzmq-sub-on-the-first-part", func(t *testing.T, v variant) {
		// The upstream publisher is a pyzmq XPUB: once it has received
		// pxroute's subscription it has applied it, and it publishes
		// only when the test says go, so every figure is exact.
		gate := filepath.Join(t.TempDir(), "go")
		const rounds = 10
		up := startZMQ(t, map[string]any{"type": "XPUB", "bind": "tcp://127.0.0.1:*", "actions": []any{
			[]any{"recv", 1}, []any{"waitfile", gate},
			[]any{"publish", [][]string{
				hexParts([]byte("a."), []byte("x1")), // "a.x1" joined: no "a.x" subscriber may take it
				hexParts([]byte("a.x"), []byte("2")),
				hexParts([]byte("b."), []byte("3")), // pxroute's sub never subscribed: not sent
				hexParts([]byte("a.y"), []byte("4")),
			}, rounds, 0},
		}})
		r := start(t, v, fmt.Sprintf(`
endpoints:
  ticks: {kind: tcp, connect: %q, framing: zmtp, socket: sub, subscribe: ["a."]}
  feed: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pub}
routes:
  - {pattern: fanout, from: ticks, to: feed}
`, tcpAddr(up.bound)))
		if got := up.recv(t); !equalParts(got, "\x01a.") {
			t.Fatalf("upstream got %q, want pxroute's subscription \\x01a.", got)
		}
		subs := []struct {
			prefix string
			want   [][]string // each round's messages for it
		}{
			{"a.x", [][]string{{"a.x", "2"}}},
			{"a.y", [][]string{{"a.y", "4"}}},
			{"", [][]string{{"a.", "x1"}, {"a.x", "2"}, {"a.y", "4"}}},
		}
		var peers []*zmqPeer
		want := uint64(0)
		for _, s := range subs {
			n := rounds * len(s.want)
			want += uint64(n)
			peers = append(peers, startZMQ(t, map[string]any{"type": "SUB", "connect": zmqAddr(r.Addr("feed")),
				"subscribe": hexParts([]byte(s.prefix)), "actions": []any{[]any{"recv", n}}}))
		}
		waitFor(t, "the three subscriptions", func() bool { return controlIn(r.Stats(), "feed") == uint64(len(subs)) })
		touch(t, gate)
		for i, s := range subs {
			for n := range rounds * len(s.want) {
				m := s.want[n%len(s.want)]
				if got := peers[i].recv(t); !equalParts(got, m...) {
					t.Fatalf("SUB %q message %d: %q, want %q", s.prefix, n, got, m)
				}
			}
			peers[i].finish(t)
		}
		up.finish(t)
		// pxroute queued for each SUB only what it subscribed to: the
		// libzmq SUBs would drop the rest themselves, so the proof is in
		// what was offered.
		waitFor(t, "ticks' messages", func() bool { return endpoint(r.Stats(), "ticks").MsgsIn == 3*rounds })
		if e := accounted(t, r, "feed", want); e.Offered != want || e.MsgsOut != want {
			t.Fatalf("feed: offered %d, written %d, drops %v; want %d each: only what each SUB subscribed to",
				e.Offered, e.MsgsOut, nonZero(e.Drops), want)
		}
	}},
	{"xsub-xpub-forwarder-passes-subscriptions-and-cancels-upstream", func(t *testing.T, v variant) {
		dir := t.TempDir()
		gate, end := filepath.Join(dir, "go"), filepath.Join(dir, "end")
		const rounds = 10
		up := startZMQ(t, map[string]any{"type": "XPUB", "bind": "tcp://127.0.0.1:*", "actions": []any{
			[]any{"recv", 2}, []any{"waitfile", gate},
			[]any{"publish", [][]string{hexParts([]byte("a."), []byte("1")), hexParts([]byte("b."), []byte("2")),
				hexParts([]byte("c."), []byte("3"))}, rounds, 0},
			[]any{"recv", 1},
		}})
		r := start(t, v, fmt.Sprintf(`
endpoints:
  up: {kind: tcp, connect: %q, framing: zmtp, socket: xsub}
  down: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: xpub}
routes:
  - {pattern: fanout, from: up, to: down}
`, tcpAddr(up.bound)))
		waitFor(t, "the upstream connection", func() bool { return endpoint(r.Stats(), "up").Active == 1 })
		a := startZMQ(t, map[string]any{"type": "SUB", "connect": zmqAddr(r.Addr("down")), "subscribe": hexParts([]byte("a.")),
			"actions": []any{[]any{"recv", rounds}, []any{"unsubscribe", hexParts([]byte("a."))[0]}, []any{"waitfile", end}}})
		b := startZMQ(t, map[string]any{"type": "SUB", "connect": zmqAddr(r.Addr("down")), "subscribe": hexParts([]byte("b.")),
			"actions": []any{[]any{"recv", rounds}, []any{"waitfile", end}}})
		got := []string{string(up.recv(t)[0]), string(up.recv(t)[0])}
		slices.Sort(got)
		if want := []string{"\x01a.", "\x01b."}; !slices.Equal(got, want) {
			t.Fatalf("the upstream XPUB received %q, want %q: the SUBs' subscriptions, forwarded", got, want)
		}
		touch(t, gate)
		for _, c := range []struct {
			p    *zmqPeer
			want []string
		}{{a, []string{"a.", "1"}}, {b, []string{"b.", "2"}}} {
			for i := range rounds {
				if got := c.p.recv(t); !equalParts(got, c.want...) {
					t.Fatalf("message %d: %q, want %q", i, got, c.want)
				}
			}
		}
		if got := up.recv(t); !equalParts(got, "\x00a.") {
			t.Fatalf("the upstream XPUB received %q, want the cancel \\x00a.", got)
		}
		up.finish(t)
		touch(t, end)
		a.finish(t)
		b.finish(t)
		// Nobody subscribed to c.: the upstream never sent it.
		if e := endpoint(r.Stats(), "up"); e.MsgsIn != 2*rounds {
			t.Fatalf("up received %d messages, want %d (a. and b. only)", e.MsgsIn, 2*rounds)
		}
		accounted(t, r, "down", 2*rounds)
	}},
	{"raw-zmtp-3.0-sub-subscribes-with-x01-and-cancels-with-x00", func(t *testing.T, v variant) {
		r := start(t, v, `
endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  feed: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pub}
routes:
  - {pattern: fanout, from: in, to: feed}
`)
		c := dial(t, r.Addr("feed"))
		if _, err := c.Write(append(rawGreeting(3, 0, "NULL"), rawReady("SUB")...)); err != nil {
			t.Fatal(err)
		}
		rd := bufio.NewReader(steady(c))
		if _, err := io.ReadFull(rd, make([]byte, 64)); err != nil {
			t.Fatalf("greeting: %v", err)
		}
		if flags, body := readRawFrame(t, rd); flags != 0x04 || !strings.HasPrefix(string(body), "\x05READY") {
			t.Fatalf("READY: flags %#x body %q", flags, body)
		}
		in := dial(t, r.Addr("in"))
		steps := []struct {
			control []string // 3.0 subscription messages first
			lines   string
			want    []string
		}{
			{[]string{"\x01a."}, "b.0\na.1\nab\n", []string{"a.1"}},
			{[]string{"\x01a.", "\x00a."}, "a.2\n", []string{"a.2"}}, // two holds, one cancel: still held
			{[]string{"\x00a.", "\x01c"}, "a.3\nc.1\n", []string{"c.1"}},
		}
		ctl, want := uint64(0), uint64(0)
		for i, s := range steps {
			for _, m := range s.control {
				c.Write(rawMessage(m))
			}
			ctl += uint64(len(s.control))
			waitFor(t, "the subscriptions", func() bool { return controlIn(r.Stats(), "feed") == ctl })
			io.WriteString(in, s.lines)
			for _, w := range s.want {
				if flags, body := readRawFrame(t, rd); flags != 0 || string(body) != w {
					t.Fatalf("step %d: frame %#x %q, want %q", i, flags, body, w)
				}
			}
			want += uint64(len(s.want))
			if e := accounted(t, r, "feed", want); e.Offered != want {
				t.Fatalf("step %d: offered %d, want %d", i, e.Offered, want)
			}
		}
	}},
	{"subscriptions-over-max_topics-or-max_topic_bytes-refused-counted-connection-stays", func(t *testing.T, v variant) {
		r := start(t, v, `
endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  feed: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pub, max_topics: 1, max_topic_bytes: 8}
routes:
  - {pattern: fanout, from: in, to: feed}
`)
		c := dial(t, r.Addr("feed"))
		c.Write(append(rawGreeting(3, 1, "NULL"), rawReady("SUB")...))
		rd := bufio.NewReader(steady(c))
		io.ReadFull(rd, make([]byte, 64))
		readRawFrame(t, rd) // READY
		for _, p := range []string{"a.", "b.", "too-long."} {
			c.Write(rawCommand("SUBSCRIBE", []byte(p)))
		}
		waitFor(t, "the subscriptions", func() bool { return controlIn(r.Stats(), "feed") == 3 })
		io.WriteString(dial(t, r.Addr("in")), "b.1\ntoo-long.1\na.1\n")
		if flags, body := readRawFrame(t, rd); flags != 0 || string(body) != "a.1" {
			t.Fatalf("frame %#x %q, want a.1 alone: b. and too-long. were refused", flags, body)
		}
		var refused map[string]uint64
		for _, e := range r.Stats().Endpoints {
			if e.Name == "feed" {
				refused = e.TopicsRefused
			}
		}
		if want := map[string]uint64{"max_topics": 1, "max_topic_bytes": 1}; fmt.Sprint(nonZero(refused)) != fmt.Sprint(want) {
			t.Fatalf("topics refused %v, want %v", nonZero(refused), want)
		}
		if e := accounted(t, r, "feed", 1); e.Offered != 1 || e.Active != 1 {
			t.Fatalf("feed: offered %d, active %d; want 1, 1 (the connection stays)", e.Offered, e.Active)
		}
	}},
	{"a-pyzmq-sub-that-stops-reading-loses-only-its-own-counted", func(t *testing.T, v variant) {
		r := start(t, v, `
endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  feed: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pub, high_water: 64KiB, sndbuf: 4KiB}
routes:
  - {pattern: fanout, from: in, to: feed}
`)
		const fast, steps, step = 2, 25, 40 // a step (40KB) stays under high_water: the reading SUBs lose nothing
		startZMQ(t, map[string]any{"type": "SUB", "connect": zmqAddr(r.Addr("feed")), "subscribe": []string{""},
			"rcvhwm": 1, "rcvbuf": 4096, "actions": []any{[]any{"waitfile", filepath.Join(t.TempDir(), "never")}}})
		// It reads nothing; it is killed when the test ends.
		var peers []*zmqPeer
		for range fast {
			peers = append(peers, startZMQ(t, map[string]any{"type": "SUB", "connect": zmqAddr(r.Addr("feed")),
				"subscribe": []string{""}, "actions": []any{[]any{"recv", steps * step}}}))
		}
		waitFor(t, "the subscriptions", func() bool { return controlIn(r.Stats(), "feed") == fast+1 })
		in := dial(t, r.Addr("in"))
		pad := strings.Repeat("x", 1000)
		for s := range steps {
			var b strings.Builder
			for i := s * step; i < (s+1)*step; i++ {
				fmt.Fprintf(&b, "%06d %s\n", i, pad)
			}
			io.WriteString(in, b.String())
			for _, p := range peers {
				for i := s * step; i < (s+1)*step; i++ {
					if got := p.recv(t); len(got) != 1 || !strings.HasPrefix(string(got[0]), fmt.Sprintf("%06d ", i)) {
						t.Fatalf("a reading SUB: message %d is %.20q", i, got)
					}
				}
			}
		}
		for _, p := range peers {
			p.finish(t)
		}
		const total = (fast + 1) * steps * step
		e := accounted(t, r, "feed", total)
		if e.Offered != total || e.Drops["hwm"] == 0 {
			t.Fatalf("feed: offered %d (want %d), written %d, drops %v, queued %d: want hwm drops for the stuck SUB",
				e.Offered, total, e.MsgsOut, nonZero(e.Drops), e.Queued)
		}
		t.Logf("feed: offered %d = written %d + drops %v + queued %d", e.Offered, e.MsgsOut, nonZero(e.Drops), e.Queued)
	}},
}

// zmtpRestartCases: a pyzmq PUB restarted mid-stream on the same port;
// pxroute's sub (static subscribe:) and xsub (the fan-out's
// subscriptions) reconnect and subscribe again.
var zmtpRestartCases = []struct{ socket, subscribe, topics string }{
	{"sub", `, subscribe: ["tick."]`, ""},
	{"xsub", "", `, topics: {out: ["tick."]}`}, // the route's topic goes upstream
}

func TestZMTPPubSubWithPyzmq(t *testing.T) {
	for _, v := range variants() {
		for _, c := range zmtpPubSubCases {
			t.Run(v.String()+"/"+c.name, func(t *testing.T) { c.run(t, v) })
		}
		for _, c := range zmtpRestartCases {
			t.Run(v.String()+"/pyzmq-pub-restarted-mid-stream-"+c.socket+"-resubscribes", func(t *testing.T) {
				publish := func(bind, tag string) *zmqPeer {
					return startZMQ(t, map[string]any{"type": "PUB", "bind": bind, "actions": []any{
						[]any{"publish", [][]string{hexParts([]byte("other."), []byte("no")), hexParts([]byte("tick."), []byte(tag))}, 1000, 5},
					}})
				}
				before := publish("tcp://127.0.0.1:*", "before")
				r := start(t, v, fmt.Sprintf(`
endpoints:
  ticks: {kind: tcp, connect: %q, framing: zmtp, socket: %s%s, reconnect_max: 200ms}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: ticks, to: out%s}
`, tcpAddr(before.bound), c.socket, c.subscribe, c.topics))
				rd := bufio.NewReader(steady(dial(t, r.Addr("out"))))
				waitFor(t, "the line subscriber", func() bool { return endpoint(r.Stats(), "out").Active == 1 })
				expectTicks(t, rd, "tick.before", 5)
				before.cmd.Process.Kill()
				<-before.done
				after := publish(before.bound, "after")
				// What was on its way from the first publisher may still
				// arrive; then only the second's.
				for line := ""; line != "tick.after"; {
					line = readLines(t, rd, 1)[0]
					if line != "tick.before" && line != "tick.after" {
						t.Fatalf("line %q: the publisher filtered on no subscription of ours", line)
					}
				}
				expectTicks(t, rd, "tick.after", 5)
				if e := endpoint(r.Stats(), "ticks"); e.Opened < 2 {
					t.Fatalf("ticks opened %d connections, want a reconnect", e.Opened)
				}
				after.cmd.Process.Kill()
			})
		}
	}
}

// expectTicks reads n lines, each want.
func expectTicks(t *testing.T, rd *bufio.Reader, want string, n int) {
	t.Helper()
	for i, line := range readLines(t, rd, n) {
		if line != want {
			t.Fatalf("line %d is %q, want %q", i, line, want)
		}
	}
}

// controlIn is endpoint name's ControlIn: the control messages its
// sessions took (a ZeroMQ subscriber's subscriptions among them).
func controlIn(s router.Stats, name string) uint64 {
	for _, e := range s.Endpoints {
		if e.Name == name {
			return e.ControlIn
		}
	}
	return 0
}

// touch creates path: a pyzmq peer's waitfile go.
func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
}
