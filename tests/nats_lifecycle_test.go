package tests

import (
	"bufio"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// TestNATSReconnectStorm: a server that drops each connection in a
// different phase, dozens of times: the endpoint reconnects every time,
// each failure counted and logged (once an episode), leaking no descriptor and starting no goroutine per connection, and
// delivers once the server behaves.
func TestNATSReconnectStorm(t *testing.T) {
	const subject, storm = "storm.s", 60
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			fake := startFakeNATS(t, func(c *fakeNATSConn, n int) {
				switch {
				case n > storm:
					if c.handshake(fakeInfo, true) == nil {
						c.send(fmt.Sprintf("MSG %s %s 5\r\nafter\r\n", subject, c.sid(subject)))
						c.serve()
					}
				case n%3 == 0: // at once
				case n%3 == 1: // mid-INFO
					c.send(fakeInfo[:10])
				default: // after CONNECT, before PONG
					c.handshake(fakeInfo, false)
				}
			})
			logs := &lockedBuffer{}
			r := startLogging(t, v, fmt.Sprintf(`
endpoints:
  room: {kind: nats, servers: ["nats://%s"], subject: %s, reconnect_initial: 1ms, reconnect_max: 2ms}
  local: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: [local, room]}
`, fake.addr(), subject), logs)
			local := dial(t, r.Addr("local"))
			lr := bufio.NewReader(local)
			waitFor(t, "ten reconnects", func() bool { return fake.accepts.Load() >= 10 })
			fds, goroutines := openFDs(t), runtime.NumGoroutine()
			if got := readLines(t, lr, 1)[0]; got != "after" {
				t.Fatalf("after the storm the member got %q", got)
			}
			e := r.Stats().Endpoint("room")
			// Each connection the server ended before the handshake was
			// done failed: counted as an error, and said in the log.
			if e.Opened < storm || e.Errors < storm || e.Active != 1 {
				t.Fatalf("after %d connections: %+v", fake.accepts.Load(), e)
			}
			if !strings.Contains(logs.String(), "closed before the handshake was done") {
				t.Fatalf("the log does not say the server closed mid-handshake:\n%s", logs.String())
			}
			// The fake server's side may still be closing its last few.
			waitFor(t, "descriptors and goroutines back", func() bool {
				return openFDs(t) <= fds+2 && runtime.NumGoroutine() <= goroutines+2
			})
		})
	}
}

// TestNATSStopMidConnection: a router stops promptly whatever phase its
// nats endpoint is in: a server that never sends INFO, one that never
// answers CONNECT, one whose TLS handshake never completes, a server
// refusing connections.
func TestNATSStopMidConnection(t *testing.T) {
	cases := []struct {
		name   string
		keys   string
		script func(c *fakeNATSConn)
	}{
		{"before-info", "", func(c *fakeNATSConn) { c.mute() }},
		{"before-pong", "", func(c *fakeNATSConn) {
			c.handshake(fakeInfo, false)
			c.mute()
		}},
		{"mid-tls", ", tls: {insecure: true}", func(c *fakeNATSConn) {
			c.send(strings.Replace(fakeInfo, `"proto":1`, `"proto":1,"tls_required":true`, 1))
			c.mute()
		}},
	}
	for _, v := range variants() {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				fake := startFakeNATS(t, func(c *fakeNATSConn, n int) { tc.script(c) })
				r := start(t, v, fmt.Sprintf(`
endpoints:
  room: {kind: nats, servers: ["nats://%s"], subject: s%s}
  local: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: [local, room]}
`, fake.addr(), tc.keys))
				waitFor(t, "a connection", func() bool { return fake.accepts.Load() >= 1 })
				time.Sleep(50 * time.Millisecond) // into the phase
				stopNow(t, r)
			})
		}
		t.Run(v.String()+"/refused", func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(`
endpoints:
  room: {kind: nats, servers: ["nats://%s"], subject: s, reconnect_initial: 1ms, reconnect_max: 2ms}
  local: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: [local, room]}
`, freePort(t)))
			waitFor(t, "failed attempts", func() bool { return r.Stats().Endpoint("room").Errors >= 5 })
			stopNow(t, r)
		})
	}
}

// stopNow stops r, failing if it does not stop within the harness's
// bound (a hang, not a speed).
func stopNow(t *testing.T, r *router.Router) {
	t.Helper()
	if err := r.StopWithin(2 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

// TestNATSGiveUp: with give_up_after, an endpoint whose servers never
// answer stops trying, says so, and what its members sent for it is
// counted: queued while it tried, dropped when it gives up; sent after,
// lost for want of a destination. Nothing waits for it forever.
func TestNATSGiveUp(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			logs := &lockedBuffer{}
			r := startLogging(t, v, fmt.Sprintf(`
endpoints:
  room: {kind: nats, servers: ["nats://%s"], subject: s, reconnect_initial: 10ms, reconnect_max: 20ms, give_up_after: 300ms}
  local: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: [local, room]}
`, freePort(t)), logs)
			c := dial(t, r.Addr("local"))
			waitFor(t, "member joined", func() bool { return r.Stats().Endpoint("local").Active == 1 })
			fmt.Fprintf(c, "early\n")
			waitFor(t, "the early line offered", func() bool { return r.Stats().Endpoint("room").Offered == 1 })
			waitFor(t, "giving up said", func() bool { return strings.Contains(logs.String(), "giving up") })
			fmt.Fprintf(c, "late\n")
			// The early line was queued for the endpoint and dropped when it
			// gave up; the late one has no destination left.
			waitFor(t, "both lines counted", func() bool {
				e, l := r.Stats().Endpoint("room"), r.Stats().Endpoint("local")
				return e.Offered == 1 && e.Drops["disconnect"] == 1 && e.QueuedMsgs == 0 && e.MsgsOut == 0 &&
					l.Lost["no_route"] == 1
			})
			if t.Failed() || testing.Verbose() {
				t.Logf("router log:\n%s", logs.String())
			}
		})
	}
}

// TestNATSBackoffWhenHandshakesFail: a server that takes the TCP
// connection and then turns each one away (refused credentials, closed at
// once) is retried on the backoff's doubling schedule, not at
// reconnect_initial forever: a connection counts as made when its
// handshake is done, not when TCP is. (The check is an upper bound on
// attempts in a pause: a loaded machine only makes fewer.)
func TestNATSBackoffWhenHandshakesFail(t *testing.T) {
	cases := []struct {
		name   string
		script func(c *fakeNATSConn)
	}{
		{"auth-refused", func(c *fakeNATSConn) {
			c.handshake(fakeInfo, false)
			c.send("-ERR 'Authorization Violation'\r\n")
		}},
		{"closed-at-once", func(c *fakeNATSConn) {}},
	}
	for _, v := range variants() {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				fake := startFakeNATS(t, func(c *fakeNATSConn, n int) { tc.script(c) })
				r := start(t, v, fmt.Sprintf(`
endpoints:
  room: {kind: nats, servers: ["nats://%s"], subject: s, reconnect_initial: 20ms, reconnect_max: 1h}
  local: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: [local, room]}
`, fake.addr()))
				waitFor(t, "four attempts", func() bool { return fake.accepts.Load() >= 4 })
				n := fake.accepts.Load()
				// Delays of 160, 320, 640ms (each within ±25%) come next:
				// at most 3 attempts in a second; at 20ms, fifty.
				time.Sleep(time.Second)
				if got := fake.accepts.Load(); got > n+4 {
					t.Fatalf("%d attempts in a second after %d: the backoff restarts at each TCP connect", got-n, n)
				}
				if e := r.Stats().Endpoint("room"); e.Errors < uint64(n) {
					t.Fatalf("failures not counted: %+v", e)
				}
			})
		}
	}
}
