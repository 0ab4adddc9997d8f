package tests

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// pyPeer is a Python peer in a subprocess (/usr/bin/python3, Debian's,
// with its modules) driven by a script in tests/testdata: a JSON spec of
// actions in, one line per result out. Its run is bounded by the spec's
// timeout (SIGALRM in the script) and killed when the test ends. The
// pyzmq and python3-websockets peers are its two kinds.
type pyPeer struct {
	what   string // "pyzmq peer", for messages
	cmd    *exec.Cmd
	lines  chan string
	stderr *lockedBuffer
	bound  string // where a listening peer listens, once it said BOUND
	done   chan error
}

// requirePython fails the test (never skips it) when module is missing,
// naming the Debian package to install.
func requirePython(t *testing.T, module, pkg string) {
	t.Helper()
	if out, err := exec.Command("/usr/bin/python3", "-c", "import "+module).CombinedOutput(); err != nil {
		t.Fatalf("%s is missing (%v: %s): run bench/setup.sh (apt-get install %s)", pkg, err, out, pkg)
	}
}

// startPyPeer runs script with spec; when listening, it waits for the
// script's "BOUND ADDR" line.
func startPyPeer(t *testing.T, what, script string, spec map[string]any, listening bool) *pyPeer {
	t.Helper()
	if _, ok := spec["timeout"]; !ok {
		spec["timeout"] = int(2 * ioTimeout / time.Second)
	}
	js, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	p := &pyPeer{what: what, lines: make(chan string, 1024), stderr: &lockedBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command("/usr/bin/python3", script, string(js))
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
	if listening {
		line := p.next(t)
		bound, ok := strings.CutPrefix(line, "BOUND ")
		if !ok {
			t.Fatalf("%s: want BOUND, got %q: %s", what, line, p.stderr)
		}
		p.bound = bound
	}
	return p
}

// next returns the peer's next output line, failing after ioTimeout.
func (p *pyPeer) next(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			t.Fatalf("%s ended early: %s", p.what, p.stderr)
		}
		return l
	case <-time.After(ioTimeout):
		t.Fatalf("%s said nothing for %v: %s", p.what, ioTimeout, p.stderr)
	}
	return ""
}

// finish waits for DONE and a clean exit.
func (p *pyPeer) finish(t *testing.T) {
	t.Helper()
	if l := p.next(t); l != "DONE" {
		t.Fatalf("%s: want DONE, got %.200q: %s", p.what, l, p.stderr)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("%s: %v: %s", p.what, err, p.stderr)
		}
	case <-time.After(ioTimeout):
		t.Fatalf("%s did not exit", p.what)
	}
}
