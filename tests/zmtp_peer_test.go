package tests

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"github.com/pxroute/pxroute/router"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// zmqPeer is a pyzmq socket (libzmq, the peer ZeroMQ users run) in a
// python3 subprocess driven by tests/testdata/zmq_peer.py: a JSON spec of
// actions in, one line per result out. Its run is bounded by the spec's
// timeout (SIGALRM) and killed when the test ends.
type zmqPeer struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *lockedBuffer
	bound  string // "tcp://127.0.0.1:port" once it has bound
	done   chan error
}

// requirePyzmq fails the test (never skips it) when pyzmq is missing.
func requirePyzmq(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("/usr/bin/python3", "-c", "import zmq").CombinedOutput(); err != nil {
		t.Fatalf("pyzmq is missing (%v: %s): run bench/setup.sh (apt-get install python3-zmq)", err, out)
	}
}

// startZMQ runs a pyzmq peer; with "bind" in spec it waits until bound.
func startZMQ(t *testing.T, spec map[string]any) *zmqPeer {
	t.Helper()
	requirePyzmq(t)
	if _, ok := spec["timeout"]; !ok {
		spec["timeout"] = int(2 * ioTimeout / time.Second)
	}
	js, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	p := &zmqPeer{lines: make(chan string, 1024), stderr: &lockedBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command("/usr/bin/python3", "testdata/zmq_peer.py", string(js))
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 8<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	if _, ok := spec["bind"]; ok {
		line := p.next(t)
		bound, ok := strings.CutPrefix(line, "BOUND ")
		if !ok {
			t.Fatalf("pyzmq peer: want BOUND, got %q", line)
		}
		p.bound = bound
	}
	return p
}

// next returns the peer's next output line, failing after ioTimeout.
func (p *zmqPeer) next(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			t.Fatalf("pyzmq peer ended early: %s", p.stderr)
		}
		return l
	case <-time.After(ioTimeout):
		t.Fatalf("pyzmq peer said nothing for %v: %s", ioTimeout, p.stderr)
	}
	return ""
}

// recv reads one {"recv": [...]} line: a message's parts.
func (p *zmqPeer) recv(t *testing.T) [][]byte {
	t.Helper()
	line := p.next(t)
	var m struct{ Recv []string }
	if err := json.Unmarshal([]byte(line), &m); err != nil || m.Recv == nil {
		t.Fatalf("pyzmq peer: want a message, got %.200q (%v)", line, err)
	}
	parts := make([][]byte, len(m.Recv))
	for i, h := range m.Recv {
		parts[i], _ = hex.DecodeString(h)
	}
	return parts
}

// finish waits for DONE and a clean exit.
func (p *zmqPeer) finish(t *testing.T) {
	t.Helper()
	if l := p.next(t); l != "DONE" {
		t.Fatalf("pyzmq peer: want DONE, got %.200q: %s", l, p.stderr)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("pyzmq peer: %v: %s", err, p.stderr)
		}
	case <-time.After(ioTimeout):
		t.Fatal("pyzmq peer did not exit")
	}
}

// hexParts spells parts for a spec's send action.
func hexParts(parts ...[]byte) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = hex.EncodeToString(p)
	}
	return out
}

// zmqAddr is a pxroute listen address as a ZeroMQ endpoint.
func zmqAddr(addr string) string { return "tcp://" + addr }

// tcpAddr is a pyzmq bound endpoint as a pxroute connect address.
func tcpAddr(endpoint string) string { return strings.TrimPrefix(endpoint, "tcp://") }

// pullToLinesYAML is a zmtp pull endpoint in fanned out to a lines
// endpoint out: the shape most ZMTP tests push through.
const pullToLinesYAML = `
endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: in, to: out}
`

// pullToLines starts pullToLinesYAML and subscribes to out: it returns the
// router and the subscriber's reader, once the subscriber is in.
func pullToLines(t *testing.T, v variant) (*router.Router, *bufio.Reader) {
	t.Helper()
	r := start(t, v, pullToLinesYAML)
	sub := bufio.NewReader(steady(dial(t, r.Addr("out"))))
	waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "out").Active == 1 })
	return r, sub
}
