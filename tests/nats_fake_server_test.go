package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeNATS is a NATS server written in the test: a loopback listener that
// speaks just enough of the client protocol (INFO, CONNECT, SUB, PING,
// PONG, MSG, -ERR) to misbehave on purpose. Each accepted connection runs
// script with its number (1 for the first); the test side may use a
// goroutine per connection, the router may not.
type fakeNATS struct {
	t       *testing.T
	ln      net.Listener
	accepts atomic.Int32
	script  func(c *fakeNATSConn, n int)
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func startFakeNATS(t *testing.T, script func(c *fakeNATSConn, n int)) *fakeNATS {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNATS{t: t, ln: ln, script: script}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(f.close)
	return f
}

func (f *fakeNATS) addr() string { return f.ln.Addr().String() }

func (f *fakeNATS) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		n := int(f.accepts.Add(1))
		f.mu.Lock()
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer c.Close()
			c.SetDeadline(time.Now().Add(4 * ioTimeout))
			f.script(&fakeNATSConn{c: c, r: bufio.NewReaderSize(c, 64<<10)}, n)
		}()
	}
}

func (f *fakeNATS) close() {
	f.ln.Close()
	f.mu.Lock()
	for _, c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// fakeNATSConn is one client connection as the fake server sees it.
type fakeNATSConn struct {
	c       net.Conn
	r       *bufio.Reader
	connect string   // the client's CONNECT line
	subs    []string // its SUB lines
}

func (c *fakeNATSConn) send(s string) { io.WriteString(c.c, s) }

func (c *fakeNATSConn) line() (string, error) {
	l, err := c.r.ReadString('\n')
	return strings.TrimRight(l, "\r\n"), err
}

// fakeInfo is the INFO a fake server sends unless a case says otherwise.
const fakeInfo = `INFO {"server_id":"FAKE","server_name":"fake","version":"2.9.0","proto":1,"headers":true,"max_payload":1048576}` + "\r\n"

// handshake sends info, then reads the client's lines up to its first
// PING (CONNECT, SUBs), answering it with PONG when pong is set.
func (c *fakeNATSConn) handshake(info string, pong bool) error {
	c.send(info)
	for {
		l, err := c.line()
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(l, "CONNECT "):
			c.connect = l
		case strings.HasPrefix(l, "SUB "):
			c.subs = append(c.subs, l)
		case l == "PING":
			if pong {
				c.send("PONG\r\n")
			}
			return nil
		}
	}
}

// serve answers PINGs and skips everything else until the client leaves.
func (c *fakeNATSConn) serve() {
	for {
		l, err := c.line()
		if err != nil {
			return
		}
		if l == "PING" {
			c.send("PONG\r\n")
		}
		if strings.HasPrefix(l, "HPUB ") || strings.HasPrefix(l, "PUB ") {
			f := strings.Fields(l)
			var n int
			fmt.Sscan(f[len(f)-1], &n)
			io.CopyN(io.Discard, c.r, int64(n)+2)
		}
	}
}

// mute reads and answers nothing until the client leaves.
func (c *fakeNATSConn) mute() { io.Copy(io.Discard, c.r) }

// sid is the subscription id of the client's SUB on subject.
func (c *fakeNATSConn) sid(subject string) string {
	for _, s := range c.subs {
		f := strings.Fields(s)
		if len(f) >= 3 && f[1] == subject {
			return f[len(f)-1]
		}
	}
	return ""
}

// A server that misbehaves gets a clear error, a reconnect where one
// helps (never after a permissions error, which nats-server survives),
// and costs nothing else: the relay beside the NATS endpoint, in the same
// router, keeps relaying, and after the reconnect the NATS endpoint
// delivers again.
func TestNATSFakeServerFaults(t *testing.T) {
	const subject = "chat.lobby"
	cases := []struct {
		name string
		// first runs the first connection; later ones behave.
		first func(c *fakeNATSConn, gate <-chan struct{})
		// auth is the endpoint's extra keys; badFirstOnly false means every
		// connection fails as the first does (no delivery ever resumes).
		auth     string
		keys     string // more endpoint keys, lines of the endpoint's mapping
		always   bool
		wantLog  []string
		noLog    []string
		noReconn bool // the endpoint must keep its first connection
	}{
		{name: "malformed-line-closes-and-reconnects", first: func(c *fakeNATSConn, _ <-chan struct{}) {
			c.handshake(fakeInfo, true)
			c.send("HELLO THERE\r\n")
			c.mute()
		}, wantLog: []string{"protocol error", "HELLO THERE"}},
		{name: "giant-msg-size-closes-and-reconnects", first: func(c *fakeNATSConn, _ <-chan struct{}) {
			c.handshake(fakeInfo, true)
			c.send(fmt.Sprintf("MSG %s %s 99999999999\r\n", subject, c.sid(subject)))
			c.mute()
		}, wantLog: []string{"protocol error", "99999999999"}},
		{name: "msg-size-over-the-bound-closes-and-reconnects", first: func(c *fakeNATSConn, _ <-chan struct{}) {
			c.handshake(fakeInfo, true)
			c.send(fmt.Sprintf("MSG %s %s %d\r\n", subject, c.sid(subject), 64<<20))
			c.mute()
		}, wantLog: []string{"protocol error", fmt.Sprint(64 << 20)}},
		{name: "over-long-line-closes-and-reconnects", first: func(c *fakeNATSConn, _ <-chan struct{}) {
			c.handshake(fakeInfo, true)
			c.send("MSG " + strings.Repeat("a", 256<<10))
			c.mute()
		}, wantLog: []string{"protocol error", "a line over"}},
		{name: "stale-connection-err-reconnects", first: func(c *fakeNATSConn, _ <-chan struct{}) {
			c.handshake(fakeInfo, true)
			c.send("-ERR 'Stale Connection'\r\n")
			c.mute()
		}, wantLog: []string{"Stale Connection"}},
		{name: "authorization-violation-in-handshake-reconnects", first: func(c *fakeNATSConn, _ <-chan struct{}) {
			c.handshake(fakeInfo, false)
			c.send("-ERR 'Authorization Violation'\r\n")
		}, wantLog: []string{"Authorization Violation"}},
		{name: "no-pong-fails-our-ping-and-reconnects", first: func(c *fakeNATSConn, _ <-chan struct{}) {
			c.handshake(fakeInfo, true)
			c.mute()
		}, keys: "ping_interval: 200ms\n    max_pings_out: 2", wantLog: []string{"PONG"}},
		{name: "permissions-violation-is-logged-and-keeps-the-connection", first: func(c *fakeNATSConn, gate <-chan struct{}) {
			c.handshake(fakeInfo, true)
			<-gate // the local member has joined
			c.send(fmt.Sprintf("-ERR 'Permissions Violation for Publish to \"%s\"'\r\n", subject))
			c.send(fmt.Sprintf("MSG %s %s 7\r\nresumed\r\n", subject, c.sid(subject)))
			c.serve()
		}, wantLog: []string{"Permissions Violation"}, noReconn: true},
		{name: "auth-refused-says-so-and-never-logs-the-secret", first: func(c *fakeNATSConn, _ <-chan struct{}) {
			c.handshake(strings.Replace(fakeInfo, `"proto":1`, `"proto":1,"auth_required":true,"nonce":"abc"`, 1), false)
			if !strings.Contains(c.connect, `"user":"px"`) {
				c.send("-ERR 'no user in CONNECT'\r\n")
				return
			}
			c.send("-ERR 'Authorization Violation'\r\n")
		}, auth: "auth: {user: px, password_file: %PW%}", always: true,
			wantLog: []string{"Authorization Violation"}, noLog: []string{"s3cret-pw"}},
		{name: "tls-required-without-tls-configured-is-a-clear-error", first: func(c *fakeNATSConn, _ <-chan struct{}) {
			c.send(strings.Replace(fakeInfo, `"proto":1`, `"proto":1,"tls_required":true`, 1))
			c.mute()
		}, always: true, wantLog: []string{"requires TLS"}},
	}
	for _, v := range variants() {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				handshook := make(chan *fakeNATSConn)
				send, quit := make(chan struct{}), make(chan struct{})
				fake := startFakeNATS(t, func(c *fakeNATSConn, n int) {
					if n == 1 || tc.always {
						tc.first(c, send)
						return
					}
					if c.handshake(fakeInfo, true) != nil {
						return
					}
					select {
					case handshook <- c:
					case <-quit:
						return
					}
					select {
					case <-send:
					case <-quit:
						return
					}
					c.send(fmt.Sprintf("MSG %s %s 7\r\nresumed\r\n", subject, c.sid(subject)))
					c.serve()
				})
				t.Cleanup(func() { close(quit) }) // before the fake server's own
				pw := writeFile(t, "pw", "s3cret-pw\n")
				os.Chmod(pw, 0o600)
				auth := strings.ReplaceAll(tc.auth, "%PW%", pw)
				if tc.keys != "" {
					auth = tc.keys
				}
				logs := &lockedBuffer{}
				r := startLogging(t, v, fmt.Sprintf(`
endpoints:
  room:
    kind: nats
    servers: ["nats://%s"]
    subject: %s
    reconnect_initial: 20ms
    reconnect_max: 100ms
    %s
  local: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  side:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: [local, room]}
  - {pattern: relay, members: [side]}
`, fake.addr(), subject, auth), logs)
				local := dial(t, r.Addr("local"))
				lr := bufio.NewReader(local)
				waitFor(t, "the local member to join", func() bool { return endpointStats(r.Stats(), "local").Active == 1 })

				// The relay beside the NATS endpoint relays whatever NATS does.
				a, b := dial(t, r.Addr("side")), dial(t, r.Addr("side"))
				waitFor(t, "both side members to join", func() bool { return endpointStats(r.Stats(), "side").Active == 2 })
				io.WriteString(a, "beside\n")
				if got := readLines(t, bufio.NewReader(b), 1); got[0] != "beside" {
					t.Fatalf("the side relay gave %q", got)
				}

				switch {
				case tc.noReconn:
					close(send)
					if got := readLines(t, lr, 1); got[0] != "resumed" {
						t.Fatalf("after the permissions error, the member got %q", got)
					}
				case tc.always:
					waitFor(t, "a few reconnects", func() bool { return fake.accepts.Load() >= 3 })
				default:
					var c *fakeNATSConn
					select {
					case c = <-handshook:
					case <-time.After(ioTimeout):
						t.Fatalf("no reconnect after the fault (%d connections)", fake.accepts.Load())
					}
					if c.sid(subject) == "" {
						t.Fatalf("the reconnect did not resubscribe: %q", c.subs)
					}
					if !strings.Contains(c.connect, `"echo":false`) || !strings.Contains(c.connect, `"headers":true`) {
						t.Fatalf("CONNECT without echo off or headers on: %s", c.connect)
					}
					close(send)
					if got := readLines(t, lr, 1); got[0] != "resumed" {
						t.Fatalf("after the reconnect, the member got %q", got)
					}
				}
				for _, want := range tc.wantLog {
					waitFor(t, fmt.Sprintf("the log to say %q", want), func() bool { return strings.Contains(logs.String(), want) })
				}
				for _, no := range tc.noLog {
					if strings.Contains(logs.String(), no) {
						t.Errorf("the log shows %q:\n%s", no, logs.String())
					}
				}
				// The side relay still relays after the fault.
				io.WriteString(b, "still\n")
				if got := readLines(t, bufio.NewReader(a), 1); got[0] != "still" {
					t.Fatalf("after the fault the side relay gave %q", got)
				}
				room := endpointStats(r.Stats(), "room")
				if tc.noReconn && room.Session["err_permissions"] != 1 {
					t.Errorf("the permissions error is not counted: session %v", room.Session)
				}
				if !tc.noReconn && room.Errors == 0 {
					t.Errorf("the fault is not counted in errors: %+v", room)
				}
				if tc.noReconn && fake.accepts.Load() != 1 {
					t.Fatalf("the endpoint reconnected after a permissions error (%d connections)", fake.accepts.Load())
				}
				if t.Failed() || testing.Verbose() {
					t.Logf("router log:\n%s", logs.String())
				}
			})
		}
	}
}
