package tests

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Tools driven on stdin and stdout: openssl, ncat and socat share how
// they are started, fed, read and ended.

// stdioPeer is a tool whose stdin goes to its TLS connection and whose
// stdout is what the connection received.
type stdioPeer struct {
	name    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	out     chan []byte // stdout's chunks; closed at its EOF
	stderr  *lockedBuffer
	exited  chan struct{} // closed once the tool has exited, after out
	waitErr error         // its exit status, once exited is closed
}

func startStdio(t *testing.T, name string, args, env []string) *stdioPeer {
	t.Helper()
	p := &stdioPeer{name: filepath.Base(name), out: make(chan []byte, 1024), stderr: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(name, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	kill := time.AfterFunc(tlsPeerTimeout, func() { p.cmd.Process.Kill() })
	t.Cleanup(func() { kill.Stop(); p.cmd.Process.Kill() })
	go func() {
		for {
			b := make([]byte, 32<<10)
			n, err := stdout.Read(b)
			if n > 0 {
				p.out <- b[:n]
			}
			if err != nil {
				break
			}
		}
		close(p.out)
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	return p
}

// end waits for the tool's exit: nil, or its status with its stderr.
func (p *stdioPeer) end() error {
	select {
	case <-p.exited:
		if p.waitErr != nil {
			return fmt.Errorf("%s: %v: %s", p.name, p.waitErr, strings.TrimSpace(p.stderr.String()))
		}
		return nil
	case <-time.After(tlsPeerTimeout):
		p.cmd.Process.Kill()
		return fmt.Errorf("%s did not exit within %v: %s", p.name, tlsPeerTimeout, p.stderr)
	}
}

// runStdioClient writes send, collects stdout until want bytes (or EOF),
// then closes stdin, which the tool takes for the end of its connection.
// brief, if any, reads the handshake's details from the tool's stderr.
func runStdioClient(t *testing.T, name string, args, env []string, send []byte, want int, brief func(string) tlsInfo) tlsResult {
	t.Helper()
	p := startStdio(t, name, args, env)
	wrote := make(chan struct{})
	go func() { // a tool that never reads (a failed handshake) must not block the test
		p.stdin.Write(send)
		close(wrote)
	}()
	var r tlsResult
	deadline := time.After(tlsPeerTimeout)
collect:
	for len(r.got) < want {
		select {
		case b, ok := <-p.out:
			if !ok {
				break collect
			}
			r.got = append(r.got, b...)
		case <-deadline:
			r.err = fmt.Errorf("%s: %d of %d bytes within %v", p.name, len(r.got), want, tlsPeerTimeout)
			p.cmd.Process.Kill()
			break collect
		}
	}
	for writing := true; writing; { // all of send goes before the end of stdin
		select {
		case <-wrote:
			writing = false
		case b, ok := <-p.out: // read on: a tool blocked on its stdout may be what holds the write
			r.got = append(r.got, b...)
			writing = ok
		case <-deadline:
			if r.err == nil {
				r.err = fmt.Errorf("%s: still writing after %v", p.name, tlsPeerTimeout)
			}
			p.cmd.Process.Kill()
			writing = false
		}
	}
	p.stdin.Close()
	for b := range p.out { // bytes beyond want are kept: a test may not expect them
		r.got = append(r.got, b...)
	}
	if err := p.end(); r.err == nil {
		r.err = err
	}
	if brief != nil {
		r.info = brief(p.stderr.String())
	}
	return r
}

// startStdioServer runs a tool that listens on addr for one connection:
// ready once addr listens (looked up in /proc, not by a probe connection
// the tool would take for its one), done when the tool exits. Its stdin
// stays open until then.
func startStdioServer(t *testing.T, name string, args, env []string, addr string, echo bool) *tlsServer {
	t.Helper()
	p := startStdio(t, name, args, env)
	s := &tlsServer{addr: addr, done: make(chan tlsResult, 1)}
	go func() {
		var r tlsResult
		for b := range p.out {
			r.got = append(r.got, b...)
			if echo {
				p.stdin.Write(b)
			}
		}
		r.err = p.end()
		p.stdin.Close()
		s.done <- r
	}()
	deadline := time.Now().Add(ioTimeout)
	for !listeningBy(t, p.cmd.Process.Pid, addr) {
		select {
		case <-p.exited:
			t.Fatalf("%s exited before listening on %s: %v: %s", p.name, addr, p.waitErr, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %s after %v: %s", p.name, addr, ioTimeout, p.stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s
}

// listeningBy reports whether process pid has a socket listening on
// addr's port: /proc/net/tcp{,6} (state 0A is LISTEN) gives the socket's
// inode, /proc/pid/fd whether it is pid's. Whose it is matters: the port
// came from freePort, and another process may have taken it since.
func listeningBy(t *testing.T, pid int, addr string) bool {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	var p int
	fmt.Sscan(port, &p)
	want := fmt.Sprintf(":%04X", p)
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			if len(fields) > 9 && strings.HasSuffix(fields[1], want) && fields[3] == "0A" {
				inodes["socket:["+fields[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return false
	}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		if link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && inodes[link] {
			return true
		}
	}
	if len(fds) > 0 {
		t.Fatalf("another process than %d took %s", pid, addr)
	}
	return false
}
