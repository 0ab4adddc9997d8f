package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
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
}
