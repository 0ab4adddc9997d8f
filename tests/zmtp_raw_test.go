package tests

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"testing"
)

// A ZMTP peer written by hand, byte by byte from RFC 23 and 37, for
// what pyzmq will not send: a ZMTP 3.0 greeting, bad frames, floods.

// rawGreeting is a ZMTP greeting of version major.minor offering mech.
func rawGreeting(major, minor byte, mech string) []byte {
	g := make([]byte, 64)
	g[0], g[9], g[10], g[11] = 0xFF, 0x7F, major, minor
	copy(g[12:32], mech)
	// Padding and filler left as a peer may fill them: never checked.
	g[1], g[40] = 0xAB, 0xCD
	return g
}

// rawFrame is one frame: short or LONG as its size needs.
func rawFrame(flags byte, body []byte) []byte {
	var b []byte
	if len(body) > 255 {
		b = binary.BigEndian.AppendUint64(append(b, flags|0x02), uint64(len(body)))
	} else {
		b = append(b, flags, byte(len(body)))
	}
	return append(b, body...)
}

// rawCommand is a command frame.
func rawCommand(name string, data []byte) []byte {
	return rawFrame(0x04, append(append([]byte{byte(len(name))}, name...), data...))
}

// rawReady is NULL's READY with a Socket-Type (and an empty Identity).
func rawReady(socketType string) []byte {
	var p []byte
	for _, kv := range [][2]string{{"Socket-Type", socketType}, {"Identity", ""}} {
		p = append(p, byte(len(kv[0])))
		p = append(p, kv[0]...)
		p = binary.BigEndian.AppendUint32(p, uint32(len(kv[1])))
		p = append(p, kv[1]...)
	}
	return rawCommand("READY", p)
}

// rawMessage is a message of parts.
func rawMessage(parts ...string) []byte {
	var b []byte
	for i, p := range parts {
		var flags byte
		if i < len(parts)-1 {
			flags = 0x01
		}
		b = append(b, rawFrame(flags, []byte(p))...)
	}
	return b
}

// readRawFrame reads one frame: flags and body.
func readRawFrame(t *testing.T, r io.Reader) (byte, []byte) {
	t.Helper()
	var h [9]byte
	if _, err := io.ReadFull(r, h[:2]); err != nil {
		t.Fatalf("frame header: %v", err)
	}
	n := uint64(h[1])
	if h[0]&0x02 != 0 {
		if _, err := io.ReadFull(r, h[2:9]); err != nil {
			t.Fatalf("long frame header: %v", err)
		}
		n = binary.BigEndian.Uint64(h[1:9])
	}
	if n > 1<<20 {
		t.Fatalf("frame of %d bytes", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatalf("frame body: %v", err)
	}
	return h[0], body
}

// TestZMTP30PeerByHand: a ZMTP 3.0 peer (a greeting of version 3.0,
// written here by hand) pushes through pxroute's pull; pxroute's greeting
// is 3.1 with NULL, and its READY names PULL.
func TestZMTP30PeerByHand(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r, sub := pullToLines(t, v)
			c := dial(t, r.Addr("in"))
			if _, err := c.Write(append(rawGreeting(3, 0, "NULL"), rawReady("PUSH")...)); err != nil {
				t.Fatal(err)
			}
			rd := bufio.NewReader(steady(c))
			g := make([]byte, 64)
			if _, err := io.ReadFull(rd, g); err != nil {
				t.Fatalf("greeting: %v", err)
			}
			if g[0] != 0xFF || g[9] != 0x7F || g[10] != 3 || g[11] != 1 || string(g[12:16]) != "NULL" || g[16] != 0 {
				t.Fatalf("greeting % x: want ZMTP 3.1, NULL", g)
			}
			flags, body := readRawFrame(t, rd)
			if flags != 0x04 || string(body[:6]) != "\x05READY" || !bytes.Contains(body, []byte("\x0bSocket-Type\x00\x00\x00\x04PULL")) {
				t.Fatalf("READY: flags %#x body %q", flags, body)
			}
			if _, err := c.Write(append(rawMessage("one"), rawMessage("tw", "o", "")...)); err != nil {
				t.Fatal(err)
			}
			if got := readLines(t, sub, 2); got[0] != "one" || got[1] != "two" {
				t.Fatalf("lines %q, want [one two]", got)
			}
		})
	}
}
