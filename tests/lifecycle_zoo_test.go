package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// Cases for connection lifecycle: reconnects, half-close options, idle
// timeouts and listener limits; TestPatterns runs them over every engine
// and loop count.
func init() {
	patternCases = append(patternCases, lifecycleCases...)
}

// listeners passes a case's Go listener from its yaml step to its run step.
var listeners = map[string]net.Listener{}

func accept(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(ioTimeout))
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(ioTimeout))
	return c
}

var lifecycleCases = []patternCase{
	{
		name: "reconnect/a-lost-sink-comes-back-and-gets-what-queued-meanwhile",
		yaml: func(t *testing.T, env map[string]string) string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			listeners[t.Name()] = ln
			return fmt.Sprintf(`
endpoints:
  in:   {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  sink: {kind: tcp, connect: "%s", framing: lines, reconnect_initial: 10ms, reconnect_max: 40ms}
routes:
  - {pattern: fanout, from: in, to: sink}
`, ln.Addr())
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			ln := listeners[t.Name()]
			first := accept(t, ln)
			waitFor(t, "the sink connected", func() bool { return endpoint(r.Stats(), "sink").Active == 1 })
			in := dial(t, r.Addr("in"))
			io.WriteString(in, "before\n")
			if got := readLines(t, bufio.NewReader(first), 1)[0]; got != "before" {
				t.Fatalf("got %q", got)
			}
			// The sink goes away entirely: its connection and its listener.
			addr := ln.Addr().String()
			ln.Close()
			first.Close()
			waitFor(t, "the loss noticed", func() bool { return endpoint(r.Stats(), "sink").Active == 0 })
			io.WriteString(in, "while down 1\nwhile down 2\n")
			waitFor(t, "both queued for the lost sink", func() bool { return endpoint(r.Stats(), "sink").Queued == 2 })
			time.Sleep(100 * time.Millisecond) // several refused attempts
			ln2, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatalf("listen again on %s: %v", addr, err)
			}
			defer ln2.Close()
			second := accept(t, ln2)
			got := readLines(t, bufio.NewReader(second), 2)
			if got[0] != "while down 1" || got[1] != "while down 2" {
				t.Fatalf("after reconnecting the sink got %q", got)
			}
			s := endpoint(r.Stats(), "sink")
			if s.Drops["disconnect"] != 0 || s.Drops["hwm"] != 0 || s.Opened < 2 {
				t.Fatalf("sink: opened %d, drops %v; want 2+ opens and no drops", s.Opened, s.Drops)
			}
		},
	},
	{
		name: "reconnect/gives-up-after-the-limit",
		yaml: func(t *testing.T, env map[string]string) string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close() // nobody listens there
			return fmt.Sprintf(`
endpoints:
  in:   {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  sink: {kind: tcp, connect: "%s", framing: lines, reconnect_initial: 5ms, reconnect_max: 10ms, give_up_after: 100ms}
routes:
  - {pattern: fanout, from: in, to: sink}
`, addr)
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			var opened uint64
			waitFor(t, "attempts to stop", func() bool {
				before := endpoint(r.Stats(), "sink").Opened
				time.Sleep(60 * time.Millisecond)
				opened = endpoint(r.Stats(), "sink").Opened
				return opened == before && opened > 1
			})
			if opened > 40 {
				t.Fatalf("%d attempts in 100ms with a 5-10ms backoff", opened)
			}
		},
	},
	{
		name: "listener/max-conns-refuses-the-extra-connection",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  e: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_conns: 2}
routes:
  - {pattern: echo, members: e}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			a, b := dial(t, r.Addr("e")), dial(t, r.Addr("e"))
			waitFor(t, "two in", func() bool { return endpoint(r.Stats(), "e").Active == 2 })
			third := dial(t, r.Addr("e"))
			io.WriteString(third, "hello?\n")
			if _, err := third.Read(make([]byte, 1)); err == nil {
				t.Fatal("a third connection was served with max_conns 2")
			}
			a.Close()
			waitFor(t, "a place free", func() bool { return endpoint(r.Stats(), "e").Active == 1 })
			fourth := dial(t, r.Addr("e"))
			io.WriteString(fourth, "now?\n")
			if got := readLines(t, bufio.NewReader(fourth), 1)[0]; got != "now?" {
				t.Fatalf("got %q", got)
			}
			_ = b
			if n := refused(r, "e", "max_conns"); n != 1 {
				t.Fatalf("refused for max_conns: %d, want 1", n)
			}
		},
	},
	{
		name: "listener/allow-and-deny-by-address",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  denied:     {kind: tcp, listen: "127.0.0.1:0", framing: lines, deny: ["127.0.0.0/8"]}
  notallowed: {kind: tcp, listen: "127.0.0.1:0", framing: lines, allow: ["10.0.0.0/8", "::1"]}
  allowed:    {kind: tcp, listen: "127.0.0.1:0", framing: lines, allow: ["127.0.0.1"], deny: ["10.0.0.0/8"]}
routes:
  - {pattern: echo, members: [denied, notallowed, allowed]}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			for _, ep := range []string{"denied", "notallowed"} {
				c := dial(t, r.Addr(ep))
				io.WriteString(c, "let me in\n")
				if _, err := c.Read(make([]byte, 1)); err == nil {
					t.Fatalf("%s served a refused peer", ep)
				}
			}
			c := dial(t, r.Addr("allowed"))
			io.WriteString(c, "in\n")
			if got := readLines(t, bufio.NewReader(c), 1)[0]; got != "in" {
				t.Fatalf("got %q", got)
			}
			// A loop publishes its figures at the end of the turn that
			// closed the refused peer, which may come after the peer saw
			// the close: wait for it.
			for _, ep := range []string{"denied", "notallowed"} {
				waitFor(t, ep+" refusal counted", func() bool { return refused(r, ep, "denied") >= 1 })
				if n, in := refused(r, ep, "denied"), endpoint(r.Stats(), ep).MsgsIn; n != 1 || in != 0 {
					t.Fatalf("%s: refused %d, read %d messages; want 1 and none", ep, n, in)
				}
			}
		},
	},
	{
		name: "listener/accept-rate",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  e: {kind: tcp, listen: "127.0.0.1:0", framing: lines, accept_rate: 1}
routes:
  - {pattern: echo, members: e}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			const n = 5
			for range n {
				dial(t, r.Addr("e"))
			}
			waitFor(t, "every connection admitted or refused", func() bool {
				return endpoint(r.Stats(), "e").Opened+refused(r, "e", "accept_rate") == n
			})
			// One a second, in bursts of one: five dials within a second
			// get one in (two if the dials straddled a refill).
			if got := refused(r, "e", "accept_rate"); got < n-2 {
				t.Fatalf("refused %d of %d connections at accept_rate 1", got, n)
			}
		},
	},
	{
		name: "idle-timeout/closes-a-quiet-connection-not-a-busy-one",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  e: {kind: tcp, listen: "127.0.0.1:0", framing: lines, idle_timeout: 1s}
routes:
  - {pattern: echo, members: e}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			quiet, busy := dial(t, r.Addr("e")), dial(t, r.Addr("e"))
			brd := bufio.NewReader(busy)
			start := time.Now()
			// A line every 20 ms for 2.5 idle timeouts. The router runs
			// in this process: had the process been held up for a whole
			// idle timeout (a loaded -race run once held it 280 ms), the
			// busy connection would rightly look idle; the longest gap
			// between its lines is reported if it is closed.
			var gap time.Duration
			last := time.Now()
			for time.Since(start) < 2500*time.Millisecond {
				io.WriteString(busy, "still here\n")
				if line, err := brd.ReadString('\n'); err != nil {
					t.Fatalf("busy connection: %v (%q) after %v; its longest quiet gap was %v", err, line, time.Since(start), gap)
				}
				time.Sleep(20 * time.Millisecond)
				gap, last = max(gap, time.Since(last)), time.Now()
			}
			if _, err := quiet.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("quiet connection: %v, want EOF from the idle timeout", err)
			}
			io.WriteString(busy, "and now?\n")
			if got := readLines(t, brd, 1)[0]; got != "and now?" {
				t.Fatalf("busy connection got %q", got)
			}
			if s := r.Stats(); idleClosed(s, "e") != 1 {
				t.Fatalf("idle-closed %d, want 1", idleClosed(s, "e"))
			}
		},
	},
	{
		name: "slowloris/a-message-that-never-completes-is-closed-by-frame-timeout",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  e: {kind: tcp, listen: "127.0.0.1:0", framing: lines, idle_timeout: 10s, frame_timeout: 150ms}
routes:
  - {pattern: echo, members: e}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			loris, honest := dial(t, r.Addr("e")), dial(t, r.Addr("e"))
			hr := bufio.NewReader(honest)
			start := time.Now()
			closed := false
			// One byte every 20ms keeps the connection far from idle, and
			// never finishes a line.
			for time.Since(start) < 2*time.Second && !closed {
				if _, err := loris.Write([]byte("z")); err != nil {
					closed = true
				}
				io.WriteString(honest, "whole\n")
				readLines(t, hr, 1)
				time.Sleep(20 * time.Millisecond)
			}
			if !closed {
				loris.SetReadDeadline(time.Now().Add(ioTimeout))
				if _, err := loris.Read(make([]byte, 1)); err == nil {
					t.Fatal("the slowloris was served for 2s with a 150ms frame_timeout")
				}
			}
			io.WriteString(honest, "still served\n")
			if got := readLines(t, hr, 1)[0]; got != "still served" {
				t.Fatalf("got %q", got)
			}
			waitFor(t, "the frame timeout counted", func() bool {
				for _, e := range r.Stats().Endpoints {
					if e.Name == "e" {
						return e.FrameTimeouts == 1 && e.IdleClosed == 0
					}
				}
				return false
			})
		},
	},
	{
		name: "half-close/ignore-eof-keeps-the-other-side-open",
		yaml: func(t *testing.T, env map[string]string) string {
			return fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", ignore_eof: true}
  back:  {kind: tcp, connect: "%s"}
routes:
  - {pattern: bridge, from: front, to: back}
`, echoServer(t))
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			c := dial(t, r.Addr("front"))
			io.WriteString(c, "ping")
			c.CloseWrite()
			got := make([]byte, 4)
			if _, err := io.ReadFull(c, got); err != nil || string(got) != "ping" {
				t.Fatalf("got %q, %v", got, err)
			}
			// The echo server half-closes only when it sees EOF; it never
			// does, so neither does the client.
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			if _, err := c.Read(got); err == nil || !os.IsTimeout(err) {
				t.Fatalf("read after the echo: %v, want a timeout (the server was not told of EOF)", err)
			}
		},
	},
}

// refused returns how many connections listener ep refused for reason.
func refused(r *router.Router, ep, reason string) uint64 {
	for _, e := range r.Stats().Endpoints {
		if e.Name == ep {
			return e.Refused[reason]
		}
	}
	return 0
}

func idleClosed(s router.Stats, ep string) uint64 {
	for _, e := range s.Endpoints {
		if e.Name == ep {
			return e.IdleClosed
		}
	}
	return 0
}
