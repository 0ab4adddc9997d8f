package tests

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// The session layer end to end, through the hello session of
// session_framing_test.go: greeting, handshake, control messages and the
// last word, on both sides of a connection, with the accounting after
// each.

// sessionCase is one behaviour of a session. addr is a Go server's
// address the topology may connect to (%s in yaml), and srv its
// connections.
type sessionCase struct {
	name string
	yaml string
	run  func(t *testing.T, r *router.Router, srv <-chan net.Conn, logs *lockedBuffer)
}

// epStats returns every figure of endpoint name.
func epStats(s router.Stats, name string) router.EndpointStats {
	for _, e := range s.Endpoints {
		if e.Name == name {
			return e
		}
	}
	return router.EndpointStats{}
}

// expectLines reads len(want) lines and fails unless they are want.
func expectLines(t *testing.T, rd *bufio.Reader, want ...string) {
	t.Helper()
	for i, w := range want {
		got, err := rd.ReadString('\n')
		if err != nil || got != w+"\n" {
			t.Fatalf("line %d: got %q, %v; want %q", i, got, err, w)
		}
	}
}

// expectEnd reads until the router ends the connection (EOF or reset),
// and fails on anything but the lines in want first.
func expectEnd(t *testing.T, rd *bufio.Reader, want ...string) {
	t.Helper()
	var got []string
	for {
		l, err := rd.ReadString('\n')
		if l != "" {
			got = append(got, l)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !isReset(err) {
				t.Fatalf("read: %v", err)
			}
			break
		}
	}
	if strings.Join(got, "") != strings.Join(want, "") {
		t.Fatalf("before the end: got %q, want %q", got, want)
	}
}

// readPonged reads n messages and exactly one PONG among them (control
// output goes between messages, never inside one), and returns the
// messages.
func readPonged(t *testing.T, rd *bufio.Reader, n int) []string {
	t.Helper()
	var got []string
	pongs := 0
	for len(got) < n || pongs == 0 {
		l, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		if l == "PONG\n" {
			pongs++
			continue
		}
		got = append(got, l)
	}
	if pongs != 1 {
		t.Fatalf("%d PONGs, want 1", pongs)
	}
	return got
}

// greeted dials a tcp-hello listener and completes its handshake as name.
func greeted(t *testing.T, addr, name string) (*net.TCPConn, *bufio.Reader) {
	t.Helper()
	c := dial(t, addr)
	rd := bufio.NewReader(steady(c))
	expectLines(t, rd, "HELLO v1 listen")
	if _, err := fmt.Fprintf(c, "HI %s\n", name); err != nil {
		t.Fatal(err)
	}
	expectLines(t, rd, "WELCOME "+name)
	return c, rd
}

// publish writes lines to a fresh publisher connection.
func publish(t *testing.T, addr string, lines ...string) {
	t.Helper()
	if _, err := io.WriteString(dial(t, addr), strings.Join(lines, "")); err != nil {
		t.Fatal(err)
	}
}

// checkBalanced fails unless Offered = MsgsOut + drops + QueuedMsgs for
// endpoint name, and Offered is offered.
func checkBalanced(t *testing.T, r *router.Router, name string, offered uint64) {
	t.Helper()
	e := epStats(r.Stats(), name)
	drops := uint64(0)
	for _, n := range e.Drops {
		drops += n
	}
	if e.Offered != offered || e.Offered != e.MsgsOut+drops+uint64(e.QueuedMsgs) {
		t.Fatalf("%s: offered %d (want %d), delivered %d, dropped %v, queued %d: they must add up", name, e.Offered, offered, e.MsgsOut, e.Drops, e.QueuedMsgs)
	}
}

var sessionCases = []sessionCase{
	{
		name: "listen/greets-requires-hi-answers-ping-itself-and-says-bye",
		yaml: `
endpoints:
  e: {kind: tcp-hello, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: echo, members: e}
`,
		run: func(t *testing.T, r *router.Router, _ <-chan net.Conn, _ *lockedBuffer) {
			c := dial(t, r.Addr("e"))
			rd := bufio.NewReader(steady(c))
			expectLines(t, rd, "HELLO v1 listen")
			// The handshake and messages in one write: the bytes after
			// the handshake are framed.
			if _, err := io.WriteString(c, "HI ann\none\nPING\ntwo\n"); err != nil {
				t.Fatal(err)
			}
			expectLines(t, rd, "WELCOME ann")
			// PONG goes ahead of the next message no write has begun,
			// so anywhere between the two.
			if got := readPonged(t, rd, 2); strings.Join(got, "") != "one\ntwo\n" {
				t.Fatalf("got %q, want one and two around one PONG", got)
			}
			c.CloseWrite()
			expectEnd(t, rd, "BYE\n")
			waitFor(t, "the close", func() bool { return epStats(r.Stats(), "e").Active == 0 })
			e := epStats(r.Stats(), "e")
			// HELLO, WELCOME, PONG and BYE are control output; PING is
			// a control message in: none of them is a message.
			if e.MsgsIn != 2 || e.MsgsOut != 2 || e.ControlIn != 1 || e.ControlOut != 4 || e.Errors != 0 {
				t.Fatalf("msgs in %d out %d (want 2, 2), control in %d out %d (want 1, 4), errors %d", e.MsgsIn, e.MsgsOut, e.ControlIn, e.ControlOut, e.Errors)
			}
			if want := uint64(len("HELLO v1 listen\nWELCOME ann\none\nPONG\ntwo\nBYE\n")); e.BytesOut != want {
				t.Fatalf("bytes out %d, want %d", e.BytesOut, want)
			}
			checkBalanced(t, r, "e", 2)
		},
	},
	{
		name: "listen/messages-queued-during-the-handshake-go-after-it",
		yaml: `
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp-hello, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: subs}
`,
		run: func(t *testing.T, r *router.Router, _ <-chan net.Conn, _ *lockedBuffer) {
			c := dial(t, r.Addr("subs"))
			rd := bufio.NewReader(steady(c))
			expectLines(t, rd, "HELLO v1 listen")
			const n = 10
			var msgs []string
			for i := range n {
				msgs = append(msgs, fmt.Sprintf("m%d\n", i))
			}
			publish(t, r.Addr("pub"), msgs...)
			waitFor(t, "the messages queued", func() bool { return epStats(r.Stats(), "subs").QueuedMsgs == n })
			if _, err := io.WriteString(c, "HI bo\n"); err != nil {
				t.Fatal(err)
			}
			expectLines(t, rd, "WELCOME bo")
			for _, m := range msgs {
				expectLines(t, rd, strings.TrimSuffix(m, "\n"))
			}
			waitFor(t, "delivery counted", func() bool { return epStats(r.Stats(), "subs").MsgsOut == n })
			checkBalanced(t, r, "subs", n)
		},
	},
	{
		name: "connect/the-router-greets-the-server-and-delivers-what-queued-after-hi",
		yaml: `
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  sink: {kind: tcp-hello, connect: "%s", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: sink}
`,
		run: func(t *testing.T, r *router.Router, srv <-chan net.Conn, logs *lockedBuffer) {
			var c net.Conn
			select {
			case c = <-srv:
			case <-timeoutC():
				t.Fatal("the router did not connect")
			}
			// Held to the end: a conn the test no longer references is
			// closed by its finalizer, and the router would see it go.
			t.Cleanup(func() { c.Close() })
			c.SetDeadline(time.Now().Add(ioTimeout))
			rd := bufio.NewReader(c)
			expectLines(t, rd, "HELLO v1 connect")
			const n = 10
			var msgs []string
			for i := range n {
				msgs = append(msgs, fmt.Sprintf("m%d\n", i))
			}
			publish(t, r.Addr("pub"), msgs...)
			waitFor(t, "the messages queued", func() bool { return epStats(r.Stats(), "sink").QueuedMsgs == n })
			if _, err := io.WriteString(c, "HI srv\nPING\n"); err != nil {
				t.Fatal(err)
			}
			expectLines(t, rd, "WELCOME srv")
			if got := readPonged(t, rd, n); strings.Join(got, "") != strings.Join(msgs, "") {
				t.Fatalf("got %q: want the %d messages in order", got, n)
			}
			waitFor(t, "delivery counted", func() bool { return epStats(r.Stats(), "sink").MsgsOut == n })
			checkBalanced(t, r, "sink", n)
			if e := epStats(r.Stats(), "sink"); e.ControlIn != 1 || e.ControlOut != 3 {
				t.Fatalf("control in %d out %d, want 1 and 3\n%s", e.ControlIn, e.ControlOut, logs)
			}
		},
	},
	{
		name: "listen/a-peer-that-never-says-hi-is-closed-by-frame_timeout-counted-and-logged-once",
		yaml: `
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp-hello, listen: "127.0.0.1:0", framing: lines, frame_timeout: 200ms}
routes:
  - {pattern: fanout, from: pub, to: subs}
`,
		run: func(t *testing.T, r *router.Router, _ <-chan net.Conn, logs *lockedBuffer) {
			const silent = 3
			var rds []*bufio.Reader
			for i := range silent {
				c := dial(t, r.Addr("subs"))
				rd := bufio.NewReader(steady(c))
				expectLines(t, rd, "HELLO v1 listen")
				if i == 0 {
					io.WriteString(c, "HI ha") // a handshake begun, never ended
				}
				rds = append(rds, rd)
			}
			publish(t, r.Addr("pub"), "queued\n")
			for _, rd := range rds {
				expectEnd(t, rd, "BYE\n")
			}
			waitFor(t, "the closes counted", func() bool {
				e := epStats(r.Stats(), "subs")
				return e.Active == 0 && e.Errors == silent
			})
			checkBalanced(t, r, "subs", silent)
			if e := epStats(r.Stats(), "subs"); e.Drops["disconnect"] != silent {
				t.Fatalf("drops %v: the message queued for each is dropped (disconnect)", e.Drops)
			}
			if n := strings.Count(logs.String(), "session failed"); n != 1 {
				t.Fatalf("%d log lines about failed sessions, want 1 for the episode:\n%s", n, logs)
			}
		},
	},
	{
		name: "listen/a-handshake-over-max_frame-or-malformed-closes-the-conn-counted",
		yaml: `
endpoints:
  subs: {kind: tcp-hello, listen: "127.0.0.1:0", framing: lines, max_frame: 1KiB}
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: subs}
`,
		run: func(t *testing.T, r *router.Router, _ <-chan net.Conn, logs *lockedBuffer) {
			for i, flood := range []string{"HI " + strings.Repeat("x", 4<<10), "HELLO yourself\n"} {
				c := dial(t, r.Addr("subs"))
				rd := bufio.NewReader(steady(c))
				expectLines(t, rd, "HELLO v1 listen")
				if _, err := io.WriteString(c, flood); err != nil {
					t.Fatal(err)
				}
				// What it says before the end, if anything, is its BYE;
				// a reset (its unread flood) may take even that.
				for {
					l, err := rd.ReadString('\n')
					if err != nil {
						break
					}
					if l != "BYE\n" {
						t.Fatalf("case %d: got %q after the flood", i, l)
					}
				}
				waitFor(t, "the close counted", func() bool {
					e := epStats(r.Stats(), "subs")
					return e.Active == 0 && e.Errors == uint64(i+1)
				})
			}
			if !strings.Contains(logs.String(), "max_frame") {
				t.Fatalf("the log does not say why:\n%s", logs)
			}
			// A good handshake still works after the episode.
			c, rd := greeted(t, r.Addr("subs"), "ok")
			publish(t, r.Addr("pub"), "after\n")
			expectLines(t, rd, "after")
			c.Close()
			if !strings.Contains(logs.String(), "complete again") {
				t.Fatalf("the log does not end the episode:\n%s", logs)
			}
		},
	},
	{
		name: "listen/a-peer-that-pings-and-never-reads-the-pongs-is-closed-past-max_frame-counted",
		yaml: `
endpoints:
  e: {kind: tcp-hello, listen: "127.0.0.1:0", framing: lines, max_frame: 1MiB}
routes:
  - {pattern: echo, members: e}
`,
		run: func(t *testing.T, r *router.Router, _ <-chan net.Conn, logs *lockedBuffer) {
			c, _ := greeted(t, r.Addr("e"), "deaf")
			c.SetReadBuffer(64 << 10)
			// 300 pings of 11 bytes ask for 19 MiB of pongs: past the
			// socket buffers, and past max_frame unwritten.
			io.WriteString(c, strings.Repeat("PING 65536\n", 300)) // may fail: the router closes
			waitFor(t, "the close counted", func() bool {
				e := epStats(r.Stats(), "e")
				return e.Active == 0 && e.Errors == 1
			})
			if e := epStats(r.Stats(), "e"); e.MsgsIn != 0 || e.Offered != 0 {
				t.Fatalf("msgs in %d, offered %d: pings are not messages", e.MsgsIn, e.Offered)
			}
			if !strings.Contains(logs.String(), "the peer does not read") {
				t.Fatalf("the log does not say why:\n%s", logs)
			}
		},
	},
	{
		name: "fanout/pongs-go-whole-between-messages-under-drop-oldest-never-dropped",
		yaml: `
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp-hello, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: subs, overflow: drop-oldest, high_water: 64KiB, high_water_msgs: 500}
`,
		run: func(t *testing.T, r *router.Router, _ <-chan net.Conn, _ *lockedBuffer) {
			slow, rd := greeted(t, r.Addr("subs"), "slow")
			slow.SetReadBuffer(64 << 10)
			const lines, pings = 100000, 20 // ~9.5 MB: past its mark and socket buffers
			pub := dial(t, r.Addr("pub"))
			bw := bufio.NewWriter(pub)
			for n := range lines {
				bw.WriteString(numberedLine(n))
				if n%(lines/pings) == lines/pings-1 {
					// A ping while the subscriber reads nothing: its
					// queue is over its mark, dropping its oldest.
					bw.Flush()
					if _, err := io.WriteString(slow, "PING\n"); err != nil {
						t.Fatal(err)
					}
				}
			}
			bw.Flush()
			waitFor(t, "the burst offered and the pings in", func() bool {
				e := epStats(r.Stats(), "subs")
				return e.Offered == lines && e.ControlIn == pings
			})
			// Every message is offered: no more drops. What is not
			// dropped arrives (not always the newest: a message that
			// finds the mark full of a write under way is refused).
			want := lines - epStats(r.Stats(), "subs").Drops["hwm"]
			last, got, pongs := -1, uint64(0), 0
			for got != want || pongs != pings {
				l, err := rd.ReadString('\n')
				if err != nil {
					t.Fatalf("after message %d (%d of %d) and %d pongs: %v; subs: %+v", last, got, want, pongs, err, epStats(r.Stats(), "subs"))
				}
				if l == "PONG\n" {
					pongs++
					continue
				}
				var n int
				if _, err := fmt.Sscanf(l, "message %d", &n); err != nil || l != numberedLine(n) || n <= last {
					t.Fatalf("got %q after message %d: want a whole later message or PONG", l, last)
				}
				last = n
				got++
			}
			e := epStats(r.Stats(), "subs")
			if e.Drops["hwm"] == 0 || got+e.Drops["hwm"] != lines || e.QueuedMsgs != 0 || e.MsgsOut != got {
				t.Fatalf("received %d, dropped %d (hwm), queued %d: want drops, adding up to %d", got, e.Drops["hwm"], e.QueuedMsgs, lines)
			}
			if e.ControlOut != 2+pings {
				t.Fatalf("control out %d, want %d (HELLO, WELCOME and each PONG)", e.ControlOut, 2+pings)
			}
			checkBalanced(t, r, "subs", lines)
		},
	},
}

// TestSession runs every session case over both engines and loops 1 and 2.
func TestSession(t *testing.T) {
	for _, tc := range sessionCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range variants() {
				t.Run(v.String(), func(t *testing.T) {
					ln, err := net.Listen("tcp", "127.0.0.1:0")
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { ln.Close() })
					srv := make(chan net.Conn, 4)
					go func() {
						for {
							c, err := ln.Accept()
							if err != nil {
								return
							}
							srv <- c
						}
					}()
					t.Cleanup(func() {
						for {
							select {
							case c := <-srv:
								c.Close()
							default:
								return
							}
						}
					})
					logs := new(lockedBuffer)
					yaml := tc.yaml
					if strings.Contains(yaml, "%s") {
						yaml = fmt.Sprintf(yaml, ln.Addr())
					}
					tc.run(t, startLogging(t, v, yaml, logs), srv, logs)
				})
			}
		})
	}
}
