package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Issue 22's bad input before the upgrade: header floods, dribbled and
// silent requests, and a storm of refused upgrades.

// TestWebSocketProbeHeaderFlood: a request of many small headers within
// max_header_bytes is upgraded; one header that alone is far over it
// gets 431 (read by the client, not lost to a reset), counted.
func TestWebSocketProbeHeaderFlood(t *testing.T) {
	many := make([]string, 0, 1200)
	for i := range cap(many) {
		many = append(many, fmt.Sprintf("X-%d: y", i))
	}
	cases := []struct {
		name   string
		extra  []string
		status int
		count  string
	}{
		{"1,200 small headers within 16 KiB", many, 101, "upgrades"},
		{"one 40 KiB header", []string{"Cookie: " + strings.Repeat("c", 40<<10)}, 431, "header_too_large"},
		{"one 1 MiB header", []string{"Cookie: " + strings.Repeat("c", 1<<20)}, 431, "header_too_large"},
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(wsRelayYAML, ", max_header_bytes: 16KiB"))
			for _, tc := range cases {
				c := dial(t, r.Addr("web"))
				before := wsCount(r, "web", tc.count)
				// The request goes from its own goroutine: a refused one
				// is not read to its end, and the write would block.
				reply := make(chan wsReply, 1)
				go func() {
					w := &wsClient{c: c, br: bufio.NewReader(c)}
					rep, err := readReplyErr(w.br)
					if err != nil {
						rep.status = -1
						rep.body = err.Error()
					}
					reply <- rep
				}()
				req := "GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
					strings.Join(tc.extra, "\r\n") + "\r\n\r\n"
				go io.WriteString(c, req)
				rep := <-reply
				if rep.status != tc.status {
					t.Errorf("%s: status %d (%s), want %d", tc.name, rep.status, rep.body, tc.status)
				}
				waitFor(t, tc.name+" counted", func() bool { return wsCount(r, "web", tc.count) == before+1 })
				c.Close()
			}
		})
	}
}

// readReplyErr is wsClient.readReply's status and headers, with the
// error instead of a failed test.
func readReplyErr(br *bufio.Reader) (wsReply, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return wsReply{}, err
	}
	var rep wsReply
	if _, err := fmt.Sscanf(line, "HTTP/1.1 %d", &rep.status); err != nil {
		return rep, fmt.Errorf("status line %q", line)
	}
	return rep, nil
}

// TestWebSocketProbeSlowRequest: a request dribbled a byte a second, or
// not sent at all, is closed at header_timeout, counted in errors; it
// holds nothing after.
func TestWebSocketProbeSlowRequest(t *testing.T) {
	cases := []struct {
		name  string
		every time.Duration // between bytes; 0: nothing sent
	}{
		{"a byte a second", time.Second},
		{"silent", 0},
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(wsRelayYAML, ", header_timeout: 200ms"))
			for i, tc := range cases {
				c := dial(t, r.Addr("web"))
				began := time.Now()
				stop := make(chan struct{})
				sent := make(chan int, 1)
				go func() {
					n := 0
					defer func() { sent <- n }()
					if tc.every == 0 {
						return
					}
					req := "GET /chat HTTP/1.1\r\n"
					for ; n < len(req); n++ {
						if _, err := c.Write([]byte{req[n]}); err != nil {
							return
						}
						select {
						case <-stop:
							return
						case <-time.After(tc.every):
						}
					}
				}()
				ended := (&wsClient{c: c, br: bufio.NewReader(c)}).ended(t)
				took := time.Since(began)
				close(stop)
				n := <-sent
				if !ended {
					t.Fatalf("%s: not closed", tc.name)
				}
				if took > 5*time.Second || n > 3 {
					t.Fatalf("%s: closed after %v and %d bytes, want at header_timeout", tc.name, took, n)
				}
				waitFor(t, tc.name+" counted", func() bool { return errorsOf(r.Stats(), "web") == uint64(i+1) })
			}
			waitFor(t, "nothing held", func() bool { return endpoint(r.Stats(), "web").Active == 0 })
		})
	}
}

// TestWebSocketProbeUpgradeStorm: thousands of upgrades in a row, each
// refused (a foreign Origin, another path) or upgraded and dropped at
// once, are each counted, none as an error; goroutines and descriptors
// come back to their baseline, and an honest client is served after.
func TestWebSocketProbeUpgradeStorm(t *testing.T) {
	const attempts = 1500
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(wsRelayYAML, ""))
			addr := r.Addr("web")
			runtime.GC()
			baseG, baseFD := runtime.NumGoroutine(), openFDs(t)
			reqs := []string{
				"GET /chat HTTP/1.1\r\nHost: x\r\nOrigin: http://evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
				"GET /other HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
				"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
			}
			for i := range attempts {
				c, err := net.DialTimeout("tcp", addr, ioTimeout)
				if err != nil {
					t.Fatalf("attempt %d: %v", i, err)
				}
				c.SetDeadline(time.Now().Add(ioTimeout))
				io.WriteString(c, reqs[i%len(reqs)])
				if _, err := readReplyErr(bufio.NewReader(c)); err != nil {
					t.Fatalf("attempt %d: %v", i, err)
				}
				c.Close()
			}
			third := uint64(attempts / len(reqs))
			waitFor(t, "every attempt counted", func() bool {
				return wsCount(r, "web", "refused_origin") == third && wsCount(r, "web", "refused_path") == third &&
					wsCount(r, "web", "upgrades") == third && endpoint(r.Stats(), "web").Active == 0
			})
			settles(t, "after the storm", baseG, baseFD)
			if n := errorsOf(r.Stats(), "web"); n != 0 {
				t.Errorf("errors %d", n)
			}
			w := wsDial(t, addr, "/chat")
			w.send(t, 9, "alive")
			if f := w.read(t); f.op != 10 || string(f.p) != "alive" {
				t.Fatalf("after the storm: op %d %q", f.op, f.p)
			}
		})
	}
}
