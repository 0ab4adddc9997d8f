package tests

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pxroute/pxroute/endpoints/webchat"
)

// stubRoom stands in for pxroute so that the browser harness and the page
// are known to work on their own: an HTTP server on 127.0.0.1 that serves
// the built-in page at / and, at webchat.WSPath, a minimal RFC 6455 server
// (upgrade by hand over Hijack; text, binary, fragments, ping, close) in
// front of a relay room with `names: first-message` and `notices: true`
// semantics: "<name> text" to the others, "* name joined" / "* name left".
type stubRoom struct {
	srv *httptest.Server

	mu      sync.Mutex
	members map[*stubMember]bool
	joins   map[string]int // name -> times joined
}

type stubMember struct {
	conn net.Conn
	wmu  sync.Mutex
	name string // "" until the first message
	// closing: our close frame went out (a kick), so the peer's close
	// that answers it ends the handshake and is not echoed (RFC 6455
	// 5.5.1): a second close frame fails the page's connection (1006).
	closing bool // under wmu
}

// wsGUID is RFC 6455's key suffix for Sec-WebSocket-Accept.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func startStubRoom(t *testing.T) *stubRoom {
	t.Helper()
	room := &stubRoom{members: map[*stubMember]bool{}, joins: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(webchat.Page)
	})
	mux.HandleFunc("GET "+webchat.WSPath, room.upgrade)
	room.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		room.kick("")
		room.srv.Close()
	})
	return room
}

// url is the page's address.
func (room *stubRoom) url() string { return room.srv.URL + "/" }

func (room *stubRoom) upgrade(w http.ResponseWriter, r *http.Request) {
	conn, br, ok := acceptWebSocket(w, r)
	if !ok {
		return
	}
	m := &stubMember{conn: conn}
	room.mu.Lock()
	room.members[m] = true
	room.mu.Unlock()
	go room.serve(m, br)
}

// acceptWebSocket answers a same-origin RFC 6455 upgrade by hand and
// hijacks the connection; it answers anything else with an HTTP error.
func acceptWebSocket(w http.ResponseWriter, r *http.Request) (net.Conn, *bufio.Reader, bool) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || key == "" ||
		r.Header.Get("Sec-WebSocket-Version") != "13" {
		http.Error(w, "not a WebSocket upgrade", http.StatusBadRequest)
		return nil, nil, false
	}
	if origin := r.Header.Get("Origin"); origin != "" && origin != "http://"+r.Host {
		http.Error(w, "origin "+origin+" refused", http.StatusForbidden)
		return nil, nil, false
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, false
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(sum[:]))
	if rw.Flush() != nil {
		conn.Close()
		return nil, nil, false
	}
	return conn, rw.Reader, true
}

// serve reads m's messages until it goes, then says it left.
func (room *stubRoom) serve(m *stubMember, r *bufio.Reader) {
	defer func() {
		m.conn.Close()
		room.mu.Lock()
		delete(room.members, m)
		name := m.name
		room.mu.Unlock()
		if name != "" {
			room.relay(m, "* "+name+" left")
		}
	}()
	for {
		op, msg, err := readClientMessage(r, m)
		if err != nil {
			return
		}
		if op != 1 && op != 2 {
			continue
		}
		text := strings.TrimRight(string(msg), "\r\n")
		room.mu.Lock()
		name := m.name
		if name == "" {
			m.name = strings.ReplaceAll(text, " ", "_")
			room.joins[m.name]++
		}
		room.mu.Unlock()
		if name == "" {
			room.relay(m, "* "+m.name+" joined")
		} else {
			room.relay(m, "<"+name+"> "+text)
		}
	}
}

// readClientMessage reads one data message (fragments reassembled),
// answering pings and the close handshake on the way.
func readClientMessage(r *bufio.Reader, m *stubMember) (byte, []byte, error) {
	var msgOp byte
	var msg []byte
	for {
		f, err := readClientFrame(r)
		if err != nil {
			return 0, nil, err
		}
		switch f.op {
		case 8: // close: echo the status code unless it answers ours, then end
			m.closeOnce(f.payload[:min(len(f.payload), 2)])
			return 0, nil, io.EOF
		case 9:
			m.write(10, f.payload)
			continue
		case 10:
			continue
		case 0:
		default:
			msgOp = f.op
		}
		msg = append(msg, f.payload...)
		if f.fin {
			return msgOp, msg, nil
		}
	}
}

// clientFrame is one frame as a client sent it, unmasked.
type clientFrame struct {
	fin     bool
	op      byte
	payload []byte
}

// readClientFrame reads one frame, which a client must mask.
func readClientFrame(r *bufio.Reader) (clientFrame, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return clientFrame{}, err
	}
	f := clientFrame{fin: hdr[0]&0x80 != 0, op: hdr[0] & 0x0f}
	if hdr[1]&0x80 == 0 {
		return f, errors.New("unmasked client frame")
	}
	n := uint64(hdr[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<20 {
		return f, errors.New("frame too large")
	}
	var mask [4]byte
	if _, err := io.ReadFull(r, mask[:]); err != nil {
		return f, err
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(r, f.payload); err != nil {
		return f, err
	}
	for i := range f.payload {
		f.payload[i] ^= mask[i%4]
	}
	return f, nil
}

// write sends one unmasked frame.
// closeOnce sends a close frame with payload, unless one went out.
func (m *stubMember) closeOnce(payload []byte) {
	m.wmu.Lock()
	sent := m.closing
	m.closing = true
	m.wmu.Unlock()
	if !sent {
		m.write(8, payload)
	}
}

func (m *stubMember) write(op byte, payload []byte) error {
	hdr := []byte{0x80 | op, 0}
	switch n := len(payload); {
	case n < 126:
		hdr[1] = byte(n)
	case n < 1<<16:
		hdr[1] = 126
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr[1] = 127
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	m.wmu.Lock()
	defer m.wmu.Unlock()
	m.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	_, err := m.conn.Write(append(hdr, payload...))
	return err
}

// relay sends text to every named member but from.
func (room *stubRoom) relay(from *stubMember, text string) {
	for _, m := range room.named(func(m *stubMember) bool { return m != from }) {
		m.write(1, []byte(text))
	}
}

// named lists the named members that keep holds for.
func (room *stubRoom) named(keep func(*stubMember) bool) []*stubMember {
	room.mu.Lock()
	defer room.mu.Unlock()
	var out []*stubMember
	for m := range room.members {
		if m.name != "" && keep(m) {
			out = append(out, m)
		}
	}
	return out
}

// send sends one frame of op to the member called name.
func (room *stubRoom) send(name string, op byte, payload []byte) {
	for _, m := range room.named(func(m *stubMember) bool { return m.name == name }) {
		m.write(op, payload)
	}
}

// kick closes the connection of the member called name (every member's
// for ""), as a router going away would: a close frame 1001, then FIN.
func (room *stubRoom) kick(name string) {
	for _, m := range room.named(func(m *stubMember) bool { return name == "" || m.name == name }) {
		m.closeOnce(binary.BigEndian.AppendUint16(nil, 1001))
		m.conn.Close()
	}
}

// joined is how many times name has joined.
func (room *stubRoom) joined(name string) int {
	room.mu.Lock()
	defer room.mu.Unlock()
	return room.joins[name]
}
