package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// The WebSocket scenarios' one client, used against every contender: it
// upgrades, then reads server frames (never masked) and counts messages.
// What it sends — the upgrade request, pongs, and for NATS its CONNECT,
// SUB and PING — it masks, as RFC 6455 asks of a client.

// wsProto is what a subscriber speaks inside the frames.
type wsProto string

const (
	wsPlain wsProto = "plain" // pxroute: each WebSocket message is one message
	wsNATS  wsProto = "nats"  // nats-server: the NATS text protocol, MSG lines
)

// wsNATSHello subscribes to subject t; the PONG to its PING says the
// server has taken the SUB (NATS answers in order).
const wsNATSHello = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB t 1\r\nPING\r\n"

// wsConn is one client connection and its frame parser's state.
type wsConn struct {
	c     net.Conn
	rd    *bufio.Reader
	proto wsProto
	// the frame being read
	hdr  [14]byte
	nh   int    // header bytes held
	left uint64 // payload bytes still to come
	op   byte   // this frame's opcode
	fin  bool
	ctrl []byte // a control frame's payload (a ping's, to echo)
	// what arrived
	msgs int64 // plain: complete data messages
	nl   int64 // nats: newlines in the data payload (MSG line + payload line each)
}

// wsDial connects to addr, upgrades at path and, for NATS, subscribes and
// waits until the server has the subscription.
func wsDial(addr, path string, proto wsProto) (*wsConn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	w := &wsConn{c: c, rd: bufio.NewReaderSize(c, 1024), proto: proto}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if err := w.upgrade(addr, path); err != nil {
		c.Close()
		return nil, err
	}
	if proto == wsNATS {
		if err := w.send(1, []byte(wsNATSHello)); err != nil {
			c.Close()
			return nil, err
		}
		// INFO, then PONG: two lines before any MSG.
		buf := make([]byte, 512)
		for w.nl < 2 {
			n, err := w.rd.Read(buf)
			if err := errors.Join(w.feed(buf[:n]), err); err != nil {
				c.Close()
				return nil, fmt.Errorf("nats subscribe: %w", err)
			}
		}
		w.nl -= 2
	}
	c.SetDeadline(time.Time{})
	return w, nil
}

func (w *wsConn) upgrade(addr, path string) error {
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(w.c, req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(w.rd, nil)
	if err != nil {
		return fmt.Errorf("upgrade: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("upgrade: %s", resp.Status)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != base64.StdEncoding.EncodeToString(sum[:]) {
		return fmt.Errorf("upgrade: Sec-WebSocket-Accept %q is wrong", got)
	}
	return nil
}

// send writes one masked frame (payloads under 126 bytes: all it sends).
func (w *wsConn) send(op byte, payload []byte) error {
	if len(payload) > 125 {
		return fmt.Errorf("frame of %d bytes: the client sends only short ones", len(payload))
	}
	f := make([]byte, 6, 6+len(payload))
	f[0], f[1] = 0x80|op, 0x80|byte(len(payload))
	rand.Read(f[2:6])
	for i, b := range payload {
		f = append(f, b^f[2+i%4])
	}
	_, err := w.c.Write(f)
	return err
}

// errWSClosed is the server's close frame.
var errWSClosed = errors.New("the server sent close")

// feed parses what arrived: frame headers are skipped, data payloads
// counted, pings answered.
func (w *wsConn) feed(b []byte) error {
	for len(b) > 0 {
		if w.left > 0 {
			k := int(min(w.left, uint64(len(b))))
			switch {
			case w.op >= 8:
				w.ctrl = append(w.ctrl, b[:k]...)
			case w.proto == wsNATS:
				w.nl += int64(bytes.Count(b[:k], []byte{'\n'}))
			}
			b, w.left = b[k:], w.left-uint64(k)
			if w.left == 0 {
				if err := w.frameDone(); err != nil {
					return err
				}
			}
			continue
		}
		// A header: 2 bytes, then 2 or 8 of length.
		need := 2
		if w.nh >= 2 {
			switch w.hdr[1] & 0x7f {
			case 126:
				need = 4
			case 127:
				need = 10
			}
		}
		k := copy(w.hdr[w.nh:need], b)
		w.nh, b = w.nh+k, b[k:]
		if w.nh < need || (need == 2 && w.hdr[1]&0x7f >= 126) {
			continue
		}
		if w.hdr[1]&0x80 != 0 {
			return errors.New("the server masked a frame")
		}
		w.fin, w.nh = w.hdr[0]&0x80 != 0, 0
		w.op = w.hdr[0] & 0x0f // 0 for a continuation: data too
		switch n := w.hdr[1] & 0x7f; n {
		case 126:
			w.left = uint64(binary.BigEndian.Uint16(w.hdr[2:4]))
		case 127:
			w.left = binary.BigEndian.Uint64(w.hdr[2:10])
		default:
			w.left = uint64(n)
		}
		w.ctrl = w.ctrl[:0]
		if w.left == 0 {
			if err := w.frameDone(); err != nil {
				return err
			}
		}
	}
	return nil
}

// frameDone ends a frame: a final data frame ends a message, a ping is
// answered, a close ends the connection.
func (w *wsConn) frameDone() error {
	switch w.op {
	case 8:
		return errWSClosed
	case 9:
		return w.send(10, w.ctrl)
	case 10:
	default:
		if w.fin && w.proto == wsPlain {
			w.msgs++
		}
	}
	return nil
}

// messages is how many messages have arrived so far.
func (w *wsConn) messages() int64 {
	if w.proto == wsNATS {
		return w.nl / 2 // "MSG t 1 64" and the payload
	}
	return w.msgs
}
