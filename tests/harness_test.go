package tests

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// engines is every completion engine the suite runs over.
var engines = []string{"epoll", "io_uring"}

// ioTimeout bounds every read and write a test client makes.
const ioTimeout = 10 * time.Second

// variant is one engine and loop count a test runs under.
type variant struct {
	engine string
	loops  int
}

func (v variant) String() string { return fmt.Sprintf("%s/loops=%d", v.engine, v.loops) }

// variants is the matrix every end-to-end case runs over.
func variants() []variant {
	var out []variant
	for _, e := range engines {
		for _, l := range []int{1, 2} {
			out = append(out, variant{e, l})
		}
	}
	return out
}

// start compiles yaml and runs it under v; the router stops when the test
// ends. io_uring is skipped only where it cannot be set up at all, and the
// skip says why.
func start(t *testing.T, v variant, yaml string) *router.Router {
	t.Helper()
	var logw io.Writer = io.Discard
	if testing.Verbose() {
		logw = os.Stderr
	}
	return startLogging(t, v, yaml, logw)
}

// startLogging is start with the router's log (debug and up) kept in logs.
func startLogging(t *testing.T, v variant, yaml string, logs io.Writer) *router.Router {
	t.Helper()
	return startWithOptions(t, v, yaml, logs, router.Options{})
}

// startWithOptions is startLogging with opts (v's loops and engine, and
// the logger, filled in).
func startWithOptions(t *testing.T, v variant, yaml string, logs io.Writer, opts router.Options) *router.Router {
	t.Helper()
	if err := router.EngineUnavailable(v.engine); err != nil {
		t.Skipf("%s cannot run on this machine: %v", v.engine, err)
	}
	if bp := os.Getenv("PROBE_BUSY_POLL"); bp != "" && !strings.Contains(yaml, "busy_poll") {
		yaml = "busy_poll: " + bp + "\n" + yaml
	}
	opts.Loops, opts.Engine = v.loops, v.engine
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r, err := router.LoadBytes(t.Name()+".yaml", []byte(yaml), opts)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := r.StopWithin(2 * time.Second); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return r
}

// dial connects to a router listener with a bounded deadline.
func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(ioTimeout))
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// steady reads from c with a deadline that moves with each read: it fails
// only after ioTimeout without progress. dial's deadline bounds the whole
// connection, which a large transfer on a loaded machine (the race
// detector, the full suite in parallel) can outlast while bytes still
// flow: every reader then times out at once, mid-line, like a stall
// (issue 16 defect 8 was that).
func steady(c *net.TCPConn) io.Reader { return steadyReader{c} }

type steadyReader struct{ c *net.TCPConn }

func (r steadyReader) Read(b []byte) (int, error) {
	r.c.SetReadDeadline(time.Now().Add(ioTimeout))
	return r.c.Read(b)
}

// readLines reads n lines or fails.
func readLines(t *testing.T, r *bufio.Reader, n int) []string {
	t.Helper()
	out := make([]string, 0, n)
	for len(out) < n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after %d of %d lines: %v", len(out), n, err)
		}
		out = append(out, strings.TrimRight(line, "\n"))
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitProgress polls done until it holds, failing only once progress (a
// count that must keep rising) has stood still for ioTimeout: a long
// transfer on a loaded machine may take longer than that in all, and that
// is no stall.
func waitProgress(t *testing.T, what string, progress func() uint64, done func() bool) {
	t.Helper()
	last, since := progress(), time.Now()
	for !done() {
		if p := progress(); p != last {
			last, since = p, time.Now()
		} else if time.Since(since) > ioTimeout {
			t.Fatalf("stalled waiting for %s: no progress for %v (at %d)", what, ioTimeout, p)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// endpoint returns the stats of the endpoint called name.
func endpoint(s router.Stats, name string) (e struct {
	Active, Opened, MsgsIn, MsgsOut, Offered uint64
	Queued                                   int64
	Drops                                    map[string]uint64 // as a destination
	Lost                                     map[string]uint64 // as a source
}) {
	for _, x := range s.Endpoints {
		if x.Name == name {
			e.Active, e.Opened, e.Offered = uint64(x.Active), x.Opened, x.Offered
			e.MsgsIn, e.MsgsOut, e.Drops, e.Lost, e.Queued = x.MsgsIn, x.MsgsOut, x.Drops, x.Lost, x.QueuedMsgs
		}
	}
	return e
}

// frame encodes one length-prefixed message.
func frame(payload []byte) []byte {
	b := make([]byte, 8+len(payload))
	binary.LittleEndian.PutUint64(b, uint64(len(payload)))
	copy(b[8:], payload)
	return b
}

// readFrame reads one length-prefixed message.
func readFrame(t *testing.T, r io.Reader) []byte {
	t.Helper()
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		t.Fatalf("frame header: %v", err)
	}
	n := binary.LittleEndian.Uint64(hdr[:])
	if n > 64<<20 {
		t.Fatalf("frame of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatalf("frame payload: %v", err)
	}
	return b
}

// listenLocal listens on a free loopback TCP port.
func listenLocal(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// serveEach serves every connection ln accepts with serve, in a goroutine
// each, until the test ends; a connection is closed when serve returns.
// It returns ln's address.
func serveEach(t *testing.T, ln net.Listener, serve func(c net.Conn)) string {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// echoServer is a plain Go TCP echo server: a peer for bridge tests.
func echoServer(t *testing.T) string {
	t.Helper()
	return serveEach(t, listenLocal(t), func(c net.Conn) {
		io.Copy(c, c)
		c.(*net.TCPConn).CloseWrite()
	})
}

// sink is a Go TCP server that collects everything sent to it.
type sink struct {
	addr string
	got  chan []byte // one value per connection, at its EOF
}

func newSink(t *testing.T) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &sink{addr: ln.Addr().String(), got: make(chan []byte, 16)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(ioTimeout))
				b, _ := io.ReadAll(c)
				s.got <- b
			}()
		}
	}()
	return s
}

func (s *sink) next(t *testing.T) []byte {
	t.Helper()
	select {
	case b := <-s.got:
		return b
	case <-time.After(ioTimeout):
		t.Fatal("sink received nothing")
		return nil
	}
}

func timeoutC() <-chan time.Time { return time.After(ioTimeout) }

// isReset reports a connection reset by the router.
func isReset(err error) bool { return err != nil && strings.Contains(err.Error(), "reset") }

// errorsOf returns the connection errors counted for endpoint name.
func errorsOf(s router.Stats, name string) uint64 {
	for _, e := range s.Endpoints {
		if e.Name == name {
			return e.Errors
		}
	}
	return 0
}

// stopBySIGTERM signals the daemon cmd to stop and fails the test unless
// it exits cleanly in time; what names the exit in the failure.
func stopBySIGTERM(t *testing.T, cmd *exec.Cmd, stderr fmt.Stringer, what string) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, stderr.String())
		}
	case <-time.After(ioTimeout):
		t.Fatal("no exit after SIGTERM")
	}
}
