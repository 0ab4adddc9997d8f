package tests

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"testing"
	"time"
)

// handshake is a good NULL handshake from a PUSH peer.
func handshake() []byte { return append(rawGreeting(3, 1, "NULL"), rawReady("PUSH")...) }

func then(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// longFrame is a LONG frame header stating size, and no body.
func longFrame(flags byte, size uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{flags | 0x02}, size)
}

// zmtpBadCases: bad input on a zmtp pull endpoint (max_frame 64KiB,
// max_parts 4). Each costs only its own connection: closed, counted,
// named in one log line, while a pyzmq PUSH on the same endpoint goes on.
var zmtpBadCases = []struct {
	name   string
	send   []byte
	reason string // in the log line that names it
	// session: a session failure (counted in Errors); otherwise a
	// framing refusal (counted Lost as max_frame on the endpoint).
	session bool
}{
	{"garbage-greeting", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "not a ZMTP greeting", true},
	{"zmtp-2.0-signature", then([]byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 0x01, 0x08}, make([]byte, 20)), "peer speaks ZMTP 2.0", true},
	{"mechanism-mismatch-plain-offered", rawGreeting(3, 1, "PLAIN"), "security mechanism mismatch", true},
	{"incompatible-socket-type-by-hand", then(rawGreeting(3, 1, "NULL"), rawReady("PUB")), `peer cannot talk to this endpoint's socket pull`, true},
	{"ready-without-socket-type", then(rawGreeting(3, 1, "NULL"), rawCommand("READY", nil)), "no Socket-Type", true},
	{"ready-over-max-frame", then(rawGreeting(3, 1, "NULL"), longFrame(0x04, 1<<20)), "over max_frame", true},
	{"long-length-of-2^63", then(handshake(), longFrame(0, 1<<63)), "2^63", false},
	{"frame-over-max-frame", then(handshake(), longFrame(0, 65*1024)), "larger than max_frame", false},
	{"more-than-max-parts", then(handshake(), rawMessage("1", "2", "3", "4", "5")), "more than max_parts (4)", false},
	{"command-inside-a-message", then(handshake(), rawFrame(0x01, []byte("a")), rawCommand("PING", []byte{0, 0})), "command frame inside", false},
	{"ping-with-oversized-context", then(handshake(), rawCommand("PING", append([]byte{0, 10}, make([]byte, 17)...))), "PING context of 17 bytes", true},
}

func TestZMTPBadInputCostsOnlyItsConnection(t *testing.T) {
	requirePyzmq(t)
	for _, v := range variants() {
		for _, bc := range zmtpBadCases {
			t.Run(v.String()+"/"+bc.name, func(t *testing.T) {
				logs := &lockedBuffer{}
				r := startLogging(t, v, `
endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, max_frame: 64KiB, max_parts: 4}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: in, to: out}
`, logs)
				sub := bufio.NewReader(steady(dial(t, r.Addr("out"))))
				waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "out").Active == 1 })
				c := dial(t, r.Addr("in"))
				if _, err := c.Write(bc.send); err != nil {
					t.Fatal(err)
				}
				// pxroute's greeting (and READY) may come first; then the close.
				c.SetReadDeadline(time.Now().Add(ioTimeout))
				if _, err := io.Copy(io.Discard, c); err != nil && !isReset(err) {
					t.Fatalf("want the connection closed, got %v", err)
				}
				if bc.session {
					waitFor(t, "the error counted", func() bool { return errorsOf(r.Stats(), "in") == 1 })
				} else {
					waitFor(t, "the refusal counted", func() bool { return endpoint(r.Stats(), "in").Lost["max_frame"] == 1 })
				}
				if n := closingLines(logs.String(), bc.reason); n != 1 {
					t.Fatalf("%d log lines name %q, want 1:\n%s", n, bc.reason, logs)
				}
				if in := endpoint(r.Stats(), "in"); in.MsgsIn != 0 {
					t.Fatalf("in: %d messages read from bad input", in.MsgsIn)
				}
				startZMQ(t, map[string]any{"type": "PUSH", "connect": zmqAddr(r.Addr("in")),
					"actions": []any{[]any{"send", hexParts([]byte("still"), []byte(" working"))}}}).finish(t)
				if got := readLines(t, sub, 1); got[0] != "still working" {
					t.Fatalf("after bad input, got %q", got)
				}
			})
		}
	}
}

// TestZMTPCommandFloodIsControl: ten thousand unknown commands and PINGs
// are control, not messages: each unknown one is ignored (as libzmq does),
// each PING answered with a PONG echoing its context, all counted in
// ControlIn; the message after them is delivered.
func TestZMTPCommandFloodIsControl(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r, sub := pullToLines(t, v)
			c := dial(t, r.Addr("in"))
			const n = 10000
			flood := handshake()
			for i := range n {
				flood = append(flood, rawCommand("X-UNKNOWN", []byte{byte(i)})...)
			}
			flood = append(flood, rawCommand("PING", []byte("\x00\x0a0123456789abcdef"))...)
			flood = append(flood, rawMessage("after", " flood")...)
			go c.Write(flood)
			rd := bufio.NewReader(steady(c))
			io.ReadFull(rd, make([]byte, 64))
			readRawFrame(t, rd) // READY
			if flags, body := readRawFrame(t, rd); flags != 0x04 || string(body) != "\x04PONG0123456789abcdef" {
				t.Fatalf("PING answered with flags %#x %q, want PONG with the context", flags, body)
			}
			if got := readLines(t, sub, 1); got[0] != "after flood" {
				t.Fatalf("got %q", got)
			}
			// Counts are published after the messages go out.
			waitFor(t, "ControlIn of every command, MsgsIn 1, no error", func() bool {
				for _, e := range r.Stats().Endpoints {
					if e.Name == "in" {
						return e.ControlIn == n+1 && e.MsgsIn == 1 && e.Errors == 0
					}
				}
				return false
			})
		})
	}
}

// TestZMTPIncompatiblePyzmqPeerRefused: a pyzmq PUB connecting to a pull
// endpoint (RFC 37: PUB talks to SUB and XSUB only) is refused after the
// handshake, counted in Errors and logged once however many connect
// (libzmq itself does not reconnect after the refusal).
func TestZMTPIncompatiblePyzmqPeerRefused(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			logs := &lockedBuffer{}
			r := startLogging(t, v, pullToLinesYAML, logs)
			for range 2 {
				startZMQ(t, map[string]any{"type": "PUB", "connect": zmqAddr(r.Addr("in")),
					"actions": []any{[]any{"publish", [][]string{hexParts([]byte("x"))}, 50, 10}}})
			}
			waitFor(t, "both refused", func() bool { return errorsOf(r.Stats(), "in") == 2 })
			if n := closingLines(logs.String(), "peer cannot talk to this endpoint's socket pull"); n != 1 {
				t.Fatalf("%d log lines name the refusal, want 1:\n%s", n, logs)
			}
			if in := endpoint(r.Stats(), "in"); in.MsgsIn != 0 {
				t.Fatalf("in: %d messages from a refused peer", in.MsgsIn)
			}
		})
	}
}

// closingLines counts the log lines that close a connection for reason.
func closingLines(logs, reason string) int {
	n := 0
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "closing connection") && strings.Contains(line, reason) {
			n++
		}
	}
	return n
}
