package tests

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// wsClient is a minimal RFC 6455 client over a net.Conn, for tests only:
// it sends an upgrade request with the headers it is given, masks what it
// sends (unless told not to) and reads the server's frames as they come,
// fragments and all, so a test sees exactly what pxroute wrote.
type wsClient struct {
	c  net.Conn
	br *bufio.Reader
}

// wsReply is the server's answer to an upgrade request.
type wsReply struct {
	status int
	header http.Header
	body   string
}

// wsUpgrade sends a GET for path on c with the usual upgrade headers,
// then extra ("Name: value"; a name given replaces the usual one, an
// empty value drops it), and reads the reply. On a 101 it checks
// Sec-WebSocket-Accept.
func wsUpgrade(t *testing.T, c net.Conn, path string, extra ...string) (*wsClient, wsReply) {
	t.Helper()
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	headers := []string{"Host: " + c.RemoteAddr().String(), "Upgrade: websocket", "Connection: Upgrade",
		"Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"}
	for _, e := range extra {
		name, _, _ := strings.Cut(e, ":")
		replaced := false
		for i, h := range headers {
			if hn, _, _ := strings.Cut(h, ":"); strings.EqualFold(hn, name) {
				headers[i], replaced = e, true
			}
		}
		if !replaced {
			headers = append(headers, e)
		}
	}
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\n", path)
	for _, h := range headers {
		if _, v, _ := strings.Cut(h, ":"); strings.TrimSpace(v) != "" {
			req.WriteString(h + "\r\n")
		}
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(c, req.String()); err != nil {
		t.Fatalf("upgrade request: %v", err)
	}
	w := &wsClient{c: c, br: bufio.NewReader(c)}
	return w, w.readReply(t, key)
}

// readReply reads an HTTP reply; a 101's accept value must match key.
func (w *wsClient) readReply(t *testing.T, key string) wsReply {
	t.Helper()
	resp, err := http.ReadResponse(w.br, nil)
	if err != nil {
		t.Fatalf("upgrade reply: %v", err)
	}
	r := wsReply{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode == 101 {
		sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		if got, want := resp.Header.Get("Sec-WebSocket-Accept"), base64.StdEncoding.EncodeToString(sum[:]); got != want {
			t.Fatalf("Sec-WebSocket-Accept %q, want %q", got, want)
		}
		return r
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reply body: %v", err)
	}
	r.body = string(body)
	return r
}

// wsDial connects to addr and upgrades on path, which must succeed.
func wsDial(t *testing.T, addr, path string, extra ...string) *wsClient {
	t.Helper()
	w, r := wsUpgrade(t, dial(t, addr), path, extra...)
	if r.status != 101 {
		t.Fatalf("upgrade of %s: status %d (%q), want 101", path, r.status, r.body)
	}
	return w
}

// wsDialTLS is wsDial over TLS (wss).
func wsDialTLS(t *testing.T, addr, path string, cfg *tls.Config) *wsClient {
	t.Helper()
	w, r := wsUpgrade(t, dialTLS(t, addr, cfg), path)
	if r.status != 101 {
		t.Fatalf("wss upgrade: status %d, want 101", r.status)
	}
	return w
}

// frame writes one frame: fin, op, payload, masked unless unmasked.
func (w *wsClient) frame(t *testing.T, fin bool, op byte, payload []byte, unmasked bool) {
	t.Helper()
	if _, err := w.c.Write(wsFrameBytes(fin, op, payload, unmasked)); err != nil {
		t.Fatalf("write frame: %v", err)
	}
}

// wsFrameBytes is one frame as a client writes it (masked unless told).
func wsFrameBytes(fin bool, op byte, payload []byte, unmasked bool) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	var m byte = 0x80
	if unmasked {
		m = 0
	}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, m|byte(n))
	case n <= 0xFFFF:
		b = binary.BigEndian.AppendUint16(append(b, m|126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, m|127), uint64(n))
	}
	p := append([]byte(nil), payload...)
	if !unmasked {
		var key [4]byte
		rand.Read(key[:])
		b = append(b, key[:]...)
		for i := range p {
			p[i] ^= key[i%4]
		}
	}
	return append(b, p...)
}

// send writes one whole masked message.
func (w *wsClient) send(t *testing.T, op byte, payload string) {
	t.Helper()
	w.frame(t, true, op, []byte(payload), false)
}

// wsFrame is a frame as the server sent it.
type wsFrame struct {
	fin bool
	rsv byte
	op  byte
	p   []byte
}

// read reads the server's next frame, failing the test on a masked one
// (a server never masks).
func (w *wsClient) read(t *testing.T) wsFrame {
	t.Helper()
	f, err := w.readErr()
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	return f
}

func (w *wsClient) readErr() (wsFrame, error) {
	w.c.SetReadDeadline(time.Now().Add(ioTimeout))
	var h [2]byte
	if _, err := io.ReadFull(w.br, h[:]); err != nil {
		return wsFrame{}, err
	}
	if h[1]&0x80 != 0 {
		return wsFrame{}, fmt.Errorf("masked server frame")
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var e [2]byte
		if _, err := io.ReadFull(w.br, e[:]); err != nil {
			return wsFrame{}, err
		}
		n = uint64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		if _, err := io.ReadFull(w.br, e[:]); err != nil {
			return wsFrame{}, err
		}
		n = binary.BigEndian.Uint64(e[:])
	}
	if n > 64<<20 {
		return wsFrame{}, fmt.Errorf("frame of %d bytes", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(w.br, p); err != nil {
		return wsFrame{}, err
	}
	return wsFrame{fin: h[0]&0x80 != 0, rsv: h[0] & 0x70, op: h[0] & 0x0F, p: p}, nil
}

// message reads the next data message, answering nothing and failing on
// a control frame.
func (w *wsClient) message(t *testing.T) (op byte, payload string) {
	t.Helper()
	f := w.read(t)
	if !f.fin || f.op == 0 || f.op >= 8 {
		t.Fatalf("want a whole data frame, got fin=%v op=%d %q", f.fin, f.op, f.p)
	}
	return f.op, string(f.p)
}

// closeCode reads frames until a close frame and returns its code (0:
// none), then expects the connection to end.
func (w *wsClient) closeCode(t *testing.T) uint16 {
	t.Helper()
	for {
		f := w.read(t)
		if f.op != 8 {
			continue
		}
		var code uint16
		if len(f.p) >= 2 {
			code = binary.BigEndian.Uint16(f.p)
		}
		return code
	}
}

// ended reports whether the server closed the connection (EOF or reset)
// within ioTimeout, with nothing more than frames before it.
func (w *wsClient) ended(t *testing.T) bool {
	t.Helper()
	for {
		if _, err := w.readErr(); err != nil {
			return err == io.EOF || isReset(err)
		}
	}
}
