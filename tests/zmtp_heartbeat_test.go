package tests

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// ZMTP 3.1 heartbeats (RFC 37): pxroute answers a pyzmq peer's PINGs,
// its own PINGs keep a silent-but-alive peer connected, a peer that stops
// answering is closed after heartbeat_timeout, and a peer's PING TTL is
// honoured. Intervals are 100-300 ms; the bounds on when a close comes
// are correctness checks with generous slack, not speed.

// zmtpFigs returns endpoint name's stats.
func zmtpFigs(s router.Stats, name string) router.EndpointStats {
	for _, e := range s.Endpoints {
		if e.Name == name {
			return e
		}
	}
	return router.EndpointStats{}
}

// rawPeerUp dials addr as a raw ZMTP 3.1 peer of socketType and reads
// pxroute's greeting and READY.
func rawPeerUp(t *testing.T, addr, socketType string) (*net.TCPConn, *bufio.Reader) {
	t.Helper()
	c := dial(t, addr)
	if _, err := c.Write(append(rawGreeting(3, 1, "NULL"), rawReady(socketType)...)); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(steady(c))
	if _, err := io.ReadFull(rd, make([]byte, 64)); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	if flags, body := readRawFrame(t, rd); flags != 0x04 || !bytes.HasPrefix(body, []byte("\x05READY")) {
		t.Fatalf("want READY, got flags %#x body %q", flags, body)
	}
	return c, rd
}

// untilClosed reads and discards until the connection ends, failing if it
// is still open after within.
func untilClosed(t *testing.T, c *net.TCPConn, within time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	if _, err := io.Copy(io.Discard, c); err != nil && !isReset(err) {
		t.Fatalf("not closed within %v: %v", within, err)
	}
}

var zmtpHeartbeatCases = []zmtpCase{
	{"pyzmq-peer-with-heartbeats-stays-connected-while-idle-pxroute-answers", func(t *testing.T, v variant) {
		r, sub := pullToLines(t, v)
		// libzmq pings every 100 ms, drops us 1 s after a PING with no
		// traffic back, and tells us (TTL 2 s) to drop it likewise: wide
		// enough that a starved process on a loaded machine is not taken
		// for a silent one (with 300 ms and 500 ms it was, once). The
		// peer stays until the figures are read: once it closes, libzmq
		// resets the connection if our last PONG is still unread in its
		// socket, and that reset is counted as the error it is.
		gate := filepath.Join(t.TempDir(), "go")
		p := startZMQ(t, map[string]any{"type": "PUSH", "connect": zmqAddr(r.Addr("in")),
			"heartbeat_ivl": 100, "heartbeat_timeout": 1000, "heartbeat_ttl": 2000,
			"actions": []any{[]any{"sleep", 1.5}, []any{"send", hexParts([]byte("after-idle"))}, []any{"waitfile", gate}}})
		if got := readLines(t, sub, 1); got[0] != "after-idle" {
			t.Fatalf("got %q", got)
		}
		in := zmtpFigs(r.Stats(), "in")
		// Some 15 PINGs answered, and no reconnect: libzmq would have
		// dropped an unanswering pxroute and connected again.
		if in.ControlIn < 5 || in.Opened != 1 || in.Active != 1 || in.Errors != 0 {
			t.Fatalf("in: control_in %d (want >= 5 PINGs), opened %d (want 1), active %d (want 1), errors %d (want 0)", in.ControlIn, in.Opened, in.Active, in.Errors)
		}
		touch(t, gate)
		p.finish(t)
	}},
	{"pxroute-heartbeats-keep-a-silent-pyzmq-peer-connected", func(t *testing.T, v variant) {
		r := start(t, v, `
endpoints:
  jobs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  workers: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: push, heartbeat_interval: 100ms, heartbeat_timeout: 300ms, heartbeat_ttl: 1s}
routes:
  - {pattern: balance, from: jobs, to: workers}
`)
		// The peer stays until the figures are read (see above).
		gate := filepath.Join(t.TempDir(), "go")
		p := startZMQ(t, map[string]any{"type": "PULL", "connect": zmqAddr(r.Addr("workers")),
			"actions": []any{[]any{"recv", 1}, []any{"waitfile", gate}}})
		waitFor(t, "worker", func() bool { return endpoint(r.Stats(), "workers").Active == 1 })
		base := zmtpFigs(r.Stats(), "workers").ControlOut
		waitFor(t, "five PINGs of ours", func() bool { return zmtpFigs(r.Stats(), "workers").ControlOut >= base+5 })
		jobs := dial(t, r.Addr("jobs"))
		if _, err := jobs.Write([]byte("job\n")); err != nil {
			t.Fatal(err)
		}
		if got := p.recv(t); len(got) != 1 || string(got[0]) != "job" {
			t.Fatalf("worker got %q", got)
		}
		w := zmtpFigs(r.Stats(), "workers")
		if w.Opened != 1 || w.Active != 1 || w.Errors != 0 {
			t.Fatalf("workers: opened %d (want 1), active %d (want 1), errors %d (want 0): the peer answered every PING", w.Opened, w.Active, w.Errors)
		}
		touch(t, gate)
		p.finish(t)
	}},
	{"raw-peers-that-stop-answering-are-closed-after-heartbeat-timeout-one-log-line", func(t *testing.T, v variant) {
		logs := &lockedBuffer{}
		r := startLogging(t, v, `
endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, heartbeat_interval: 100ms, heartbeat_timeout: 200ms, heartbeat_ttl: 1500ms}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: in, to: out}
`, logs)
		const peers = 3
		type peer struct {
			c  *net.TCPConn
			rd *bufio.Reader
		}
		var ps []peer
		for range peers {
			c, rd := rawPeerUp(t, r.Addr("in"), "PUSH")
			ps = append(ps, peer{c, rd})
		}
		for i, p := range ps {
			// A PING: our TTL in tenths of seconds (15), a 4-byte context.
			flags, body := readRawFrame(t, p.rd)
			if flags != 0x04 || len(body) != 11 || string(body[:5]) != "\x04PING" || binary.BigEndian.Uint16(body[5:7]) != 15 {
				t.Fatalf("peer %d: want PING with TTL 15, got flags %#x body % x", i, flags, body)
			}
		}
		for _, p := range ps {
			// Never answered: closed within timeout, a tick and slack.
			untilClosed(t, p.c, 5*time.Second)
		}
		waitFor(t, "errors counted", func() bool { return zmtpFigs(r.Stats(), "in").Errors == peers })
		if n := strings.Count(logs.String(), "heartbeat timeout"); n != 1 {
			t.Fatalf("%d log lines name the heartbeat timeout, want 1 for the episode:\n%s", n, logs.String())
		}
		if in := zmtpFigs(r.Stats(), "in"); in.Active != 0 {
			t.Fatalf("in: %d still active", in.Active)
		}
	}},
	{"a-peer-ping-ttl-closes-after-that-long-without-traffic", func(t *testing.T, v variant) {
		logs := &lockedBuffer{}
		r := startLogging(t, v, pullToLinesYAML, logs)
		c, rd := rawPeerUp(t, r.Addr("in"), "PUSH")
		sent := time.Now()
		if _, err := c.Write(rawCommand("PING", []byte{0, 10, 'h', 'i'})); err != nil { // TTL 1 s
			t.Fatal(err)
		}
		if flags, body := readRawFrame(t, rd); flags != 0x04 || string(body) != "\x04PONGhi" {
			t.Fatalf("want PONG hi, got flags %#x body %q", flags, body)
		}
		untilClosed(t, c, 5*time.Second)
		if after := time.Since(sent); after < time.Second {
			t.Fatalf("closed %v after a PING of TTL 1s: before its TTL ran out", after)
		}
		waitFor(t, "the error counted", func() bool { return zmtpFigs(r.Stats(), "in").Errors == 1 })
		if n := strings.Count(logs.String(), "heartbeat TTL expired"); n != 1 {
			t.Fatalf("%d log lines name the TTL, want 1:\n%s", n, logs.String())
		}
	}},
	{"a-peer-pxroute-stopped-reading-under-backpressure-is-not-closed-as-silent", func(t *testing.T, v variant) {
		r := start(t, v, `
endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, heartbeat_interval: 100ms, heartbeat_timeout: 500ms}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: lines, sndbuf: 4KiB, high_water: 8KiB, overflow: block}
routes:
  - {pattern: fanout, from: in, to: out}
`)
		sub := dial(t, r.Addr("out")) // a subscriber that never reads
		sub.SetReadBuffer(2048)
		waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "out").Active == 1 })
		c, _ := rawPeerUp(t, r.Addr("in"), "PUSH")
		go func() { // more than every buffer holds; ends when c closes
			line := rawMessage(strings.Repeat("x", 1023) + "\n")
			for range 4096 {
				if _, err := c.Write(line); err != nil {
					return
				}
			}
		}()
		// Blocked: the subscriber's queue at its mark and nothing read
		// from the peer for a while (the buffers between them full).
		last, still := uint64(0), 0
		waitFor(t, "pxroute blocked on the subscriber", func() bool {
			// Until it is blocked the peer must be heard within the
			// timeout: a writer stalled longer (a loaded machine) is
			// closed rightly, and the case is not made.
			if e := zmtpFigs(r.Stats(), "in").Errors; e != 0 {
				t.Fatalf("in closed (errors %d) before pxroute blocked on the subscriber: the test's writer stalled over heartbeat_timeout", e)
			}
			n := zmtpFigs(r.Stats(), "in").MsgsIn
			// A blocked sender is read again once the queue is down to
			// half its mark (4 KiB): over that, with nothing read, it is
			// blocked. A partial write may have taken the queue from its
			// 8 KiB mark to anywhere above 4 KiB (5,157 B was seen).
			if n != last || zmtpFigs(r.Stats(), "out").QueuedB <= 4<<10 {
				last, still = n, 0
			} else {
				still++
			}
			return still >= 60 // 300 ms of 5 ms polls
		})
		// Five heartbeat timeouts while pxroute does not read the peer:
		// its silence is pxroute's own, and it is not closed for it.
		before := zmtpFigs(r.Stats(), "in").MsgsIn
		time.Sleep(2500 * time.Millisecond)
		in := zmtpFigs(r.Stats(), "in")
		if in.MsgsIn != before {
			t.Fatalf("in read %d messages meanwhile: not blocked, the case is not made", in.MsgsIn-before)
		}
		if in.Errors != 0 || in.Active != 1 {
			t.Fatalf("in: errors %d, active %d: closed for a silence pxroute made", in.Errors, in.Active)
		}
	}},
}

func TestZMTPHeartbeats(t *testing.T) {
	for _, v := range variants() {
		for _, c := range zmtpHeartbeatCases {
			t.Run(v.String()+"/"+c.name, func(t *testing.T) { c.run(t, v) })
		}
	}
}
