package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// TestNATSSmallMaxFrame: max_frame bounds the messages a nats endpoint
// reads, not the protocol around them: with a max_frame smaller than the
// server's INFO and our CONNECT, the endpoint still connects, and small
// messages cross both ways.
func TestNATSSmallMaxFrame(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			subject := natsSubject("small", v)
			r := start(t, v, natsRelayYAML(srv.URL(), subject, ", max_frame: 200"))
			natsUp(t, r, "room")
			raw := dialNATSClient(t, srv.Addr, nil)
			raw.Sub(subject, "")
			a := dial(t, r.Addr("local"))
			ra := bufio.NewReader(a)
			waitFor(t, "member joined", func() bool { return r.Stats().Endpoint("local").Active == 1 })
			if _, err := a.Write([]byte("to nats\n")); err != nil {
				t.Fatal(err)
			}
			if m := raw.Next(); string(m.Payload) != "to nats" {
				t.Fatalf("on NATS: %q", m.Payload)
			}
			raw.Pub(subject, []byte("from nats"))
			raw.Flush()
			if got := readLines(t, ra, 1)[0]; got != "from nats" {
				t.Fatalf("local got %q", got)
			}
			if e := r.Stats().Endpoint("room"); e.Errors != 0 || e.Opened != 1 {
				t.Fatalf("the connection did not stay: %+v", e)
			}
		})
	}
}

// TestNATSFakeServerStalls: a server that stalls or floods costs only its
// own connection: it is closed with a clear, counted error and the
// endpoint reconnects, whatever phase the stall is in.
func TestNATSFakeServerStalls(t *testing.T) {
	const subject = "stall.s"
	cases := []struct {
		name    string
		keys    string
		first   func(c *fakeNATSConn)
		wantLog string
	}{
		{"no-info-ever", "frame_timeout: 300ms", func(c *fakeNATSConn) { c.mute() }, "handshake"},
		{"no-pong-to-connect", "frame_timeout: 300ms", func(c *fakeNATSConn) {
			c.handshake(fakeInfo, false)
			c.mute()
		}, "handshake"},
		{"info-cut-short", "frame_timeout: 300ms", func(c *fakeNATSConn) {
			c.send(fakeInfo[:20])
			c.mute()
		}, "handshake"},
		{"payload-never-completes", "ping_interval: 100ms, max_pings_out: 2", func(c *fakeNATSConn) {
			c.handshake(fakeInfo, true)
			c.send(fmt.Sprintf("MSG %s %s 100\r\nonly a few bytes", subject, c.sid(subject)))
			c.mute()
		}, "PONG"},
		{"ping-flood-never-reading", "", func(c *fakeNATSConn) {
			c.handshake(fakeInfo, true)
			flood := []byte(strings.Repeat("PING\r\n", 64<<10))
			for c.c.SetWriteDeadline(time.Now().Add(ioTimeout)) == nil {
				if _, err := c.c.Write(flood); err != nil {
					return
				}
			}
		}, "control output"},
		{"err-flood", "", func(c *fakeNATSConn) {
			c.handshake(fakeInfo, true)
			c.send(strings.Repeat("-ERR 'Slow Consumer'\r\n", 10000))
			c.mute()
		}, "Slow Consumer"},
	}
	for _, v := range variants() {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				fake := startFakeNATS(t, func(c *fakeNATSConn, n int) {
					if n == 1 {
						tc.first(c)
						return
					}
					if c.handshake(fakeInfo, true) == nil {
						c.serve()
					}
				})
				keys := ""
				if tc.keys != "" {
					keys = ", " + tc.keys
				}
				logs := &lockedBuffer{}
				r := startLogging(t, v, fmt.Sprintf(`
endpoints:
  room: {kind: nats, servers: ["nats://%s"], subject: %s, reconnect_initial: 20ms, reconnect_max: 100ms%s}
  local: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: [local, room]}
`, fake.addr(), subject, keys), logs)
				waitFor(t, "a reconnect that establishes", func() bool {
					e := r.Stats().Endpoint("room")
					return fake.accepts.Load() >= 2 && e.Session["connects"] >= 1 && e.Active == 1 && e.ConnectedTo != ""
				})
				waitFor(t, fmt.Sprintf("the log to say %q", tc.wantLog), func() bool { return strings.Contains(logs.String(), tc.wantLog) })
				if e := r.Stats().Endpoint("room"); e.Errors == 0 {
					t.Fatalf("the fault is not counted in errors: %+v", e)
				}
				if t.Failed() || testing.Verbose() {
					t.Logf("router log:\n%s", logs.String())
				}
			})
		}
	}
}

// TestNATSServerStopsReading: a server that stops reading holds no more
// than the endpoint's marks of our messages; what does not fit is dropped
// under its overflow policy, counted (Offered = MsgsOut + Drops +
// QueuedMsgs at every moment), the router goes on relaying elsewhere,
// and once the server reads again every message the endpoint wrote
// reaches it: the local publisher's count = received + dropped.
func TestNATSServerStopsReading(t *testing.T) {
	const subject = "slow.s"
	const lines, highWater = 20000, 16 << 10
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			resume := make(chan struct{})
			var received atomic.Int64
			fake := startFakeNATS(t, func(c *fakeNATSConn, n int) {
				if c.handshake(fakeInfo, true) != nil {
					return
				}
				<-resume
				for {
					l, err := c.line()
					if err != nil {
						return
					}
					if strings.HasPrefix(l, "HPUB ") {
						f := strings.Fields(l)
						var size int64
						fmt.Sscan(f[len(f)-1], &size)
						if _, err := io.CopyN(io.Discard, c.r, size+2); err != nil {
							return
						}
						received.Add(1)
					}
				}
			})
			r := start(t, v, fmt.Sprintf(`
endpoints:
  room: {kind: nats, servers: ["nats://%s"], subject: %s, high_water: %d, sndbuf: 4KiB, overflow: drop-newest}
  local: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  side:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: [local, room]}
  - {pattern: relay, members: [side]}
`, fake.addr(), subject, highWater))
			natsUp(t, r, "room")
			c := dial(t, r.Addr("local"))
			line := strings.Repeat("x", 100) + "\n"
			go func() {
				w := bufio.NewWriter(c)
				for range lines {
					w.WriteString(line)
				}
				w.Flush()
			}()
			balanced := func(e router.EndpointStats) bool {
				var drops uint64
				for _, n := range e.Drops {
					drops += n
				}
				return e.Offered == e.MsgsOut+drops+uint64(e.QueuedMsgs)
			}
			waitFor(t, "every line read and offered", func() bool {
				e := r.Stats().Endpoint("room")
				if !balanced(e) {
					t.Fatalf("Offered does not balance: %+v", e)
				}
				if e.QueuedB > highWater+int64(len(line))+256 {
					t.Fatalf("%d bytes queued over a high_water of %d", e.QueuedB, highWater)
				}
				return e.Offered == lines
			})
			e := r.Stats().Endpoint("room")
			if e.Drops["hwm"] == 0 {
				t.Fatalf("a server that reads nothing took every line: %+v", e)
			}
			// The router relays elsewhere meanwhile.
			a, b := dial(t, r.Addr("side")), dial(t, r.Addr("side"))
			waitFor(t, "both side members to join", func() bool { return r.Stats().Endpoint("side").Active == 2 })
			io.WriteString(a, "beside\n")
			if got := readLines(t, bufio.NewReader(b), 1); got[0] != "beside" {
				t.Fatalf("the side relay gave %q", got)
			}
			close(resume)
			waitFor(t, "the queue written and read", func() bool {
				e := r.Stats().Endpoint("room")
				return e.QueuedMsgs == 0 && uint64(received.Load()) == e.MsgsOut
			})
			e = r.Stats().Endpoint("room")
			if got := uint64(received.Load()) + e.Drops["hwm"]; got != lines || !balanced(e) || e.Opened != 1 {
				t.Fatalf("%d received + %d dropped != %d sent: %+v", received.Load(), e.Drops["hwm"], lines, e)
			}
		})
	}
}

// TestNATSSlowMember: NATS delivers faster than the local members read
// (one reads, one does not until the end): their marks hold, what does
// not fit is dropped and counted on their endpoint, and for the members
// together the publisher's count = delivered + dropped + nats_gap, each.
func TestNATSSlowMember(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	const msgs = 20000
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			subject := natsSubject("slowmember", v)
			r := start(t, v, fmt.Sprintf(`
endpoints:
  local: {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: 8KiB, sndbuf: 4KiB, overflow: drop-newest}
  room: {kind: nats, servers: [%q], subject: %s}
routes:
  - {pattern: relay, members: [local, room]}
`, srv.URL(), subject))
			natsUp(t, r, "room")
			slow, reader := dial(t, r.Addr("local")), dial(t, r.Addr("local"))
			slow.SetReadBuffer(4096)
			waitFor(t, "members joined", func() bool { return r.Stats().Endpoint("local").Active == 2 })
			count := func(c *net.TCPConn, lines chan<- int) {
				n := 0
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					n++
				}
				lines <- n
			}
			readerLines, slowLines := make(chan int, 1), make(chan int, 1)
			go count(reader, readerLines)
			raw := dialNATSClient(t, srv.Addr, nil)
			payload := []byte(strings.Repeat("m", 200))
			for i := 1; i <= msgs; i++ {
				raw.HPub(subject, map[string]string{"Pxroute-Origin": "pub", "Pxroute-Seq": fmt.Sprint(i)}, payload)
			}
			raw.Flush()
			waitFor(t, "every message read from NATS or counted lost", func() bool {
				e := r.Stats().Endpoint("room")
				return e.MsgsIn+e.Lost["nats_gap"] == msgs
			})
			go count(slow, slowLines)
			waitFor(t, "the members' queues written", func() bool { return r.Stats().Endpoint("local").QueuedMsgs == 0 })
			// All is in the sockets now: what is there is read at once.
			quiet := time.Now().Add(2 * time.Second)
			reader.SetReadDeadline(quiet)
			slow.SetReadDeadline(quiet)
			delivered := uint64(<-readerLines + <-slowLines)
			gap := r.Stats().Endpoint("room").Lost["nats_gap"]
			e := r.Stats().Endpoint("local")
			var drops uint64
			for _, n := range e.Drops {
				drops += n
			}
			if e.Drops["hwm"] == 0 || delivered+drops+2*gap != 2*msgs {
				t.Fatalf("%d delivered + %d dropped + 2 x %d lost != 2 x %d: %+v", delivered, drops, gap, msgs, e)
			}
			if e.Offered != e.MsgsOut+drops+uint64(e.QueuedMsgs) || e.MsgsOut != delivered {
				t.Fatalf("the figures do not balance (%d delivered): %+v", delivered, e)
			}
		})
	}
}

// TestNATSManyParts: a message of 1024 parts (empty ones, CRLF inside
// some) crosses NATS between two routers part for part; one of 1025 is
// not sent, counted bad_parts, and the connection stays.
func TestNATSManyParts(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			subject := natsSubject("parts", v)
			ra, rb := startPartsRooms(t, v, srv, subject)
			ca, cb := dial(t, ra.Addr("p")), dial(t, rb.Addr("p"))
			waitFor(t, "members joined", func() bool {
				return ra.Stats().Endpoint("p").Active == 1 && rb.Stats().Endpoint("p").Active == 1
			})
			parts := func(n int) []string {
				out := make([]string, n)
				for i := range out {
					out[i] = strings.Repeat("p\r\n", i%3) // "", "p\r\n", "p\r\np\r\n", ...
				}
				return out
			}
			most, tooMany := parts(1024), parts(1025)
			for _, m := range [][]string{tooMany, most} {
				if _, err := ca.Write(encodeParts(m...)); err != nil {
					t.Fatal(err)
				}
			}
			got := readParts(t, cb)
			if fmt.Sprint(got) != fmt.Sprint(most) || len(got) != len(most) {
				t.Fatalf("b got %d parts, want the 1024", len(got))
			}
			// b holding the message does not mean a's loop has taken its
			// send's completion yet (a loaded machine preempts it): the
			// count is published when it has.
			waitFor(t, "a to count the message sent", func() bool { return ra.Stats().Endpoint("room").MsgsOut >= 1 })
			e := ra.Stats().Endpoint("room")
			if e.Session["bad_parts"] != 1 || e.Drops["max_frame"] != 1 || e.MsgsOut != 1 || e.Errors != 0 {
				t.Fatalf("the 1025-part message is not counted as refused: %+v", e)
			}
		})
	}
}
