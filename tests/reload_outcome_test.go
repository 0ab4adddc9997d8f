package tests

import (
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// pxroute reload --pid-file learns the reload's outcome from the daemon:
// exit 0 and what changed when applied, exit 1 and the errors when
// refused. The daemon logs it as JSON under --log-format json, every line.
func TestCLIReloadByPidFileReportsOutcome(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	topo := filepath.Join(dir, "r.yaml")
	good := fmt.Sprintf("endpoints:\n  a: {kind: tcp, listen: %q, framing: lines}\nroutes:\n  - {pattern: echo, members: a}\n", addr)
	writeFileAt(t, topo, good)
	pid := filepath.Join(dir, "pxroute.pid")
	cmd := exec.Command(pxroute, "run", topo, "--loops", "2", "--pid-file", pid, "--log-format", "json")
	errOut := &lockedBuffer{}
	cmd.Stderr = errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, "the pid file", func() bool { _, _, code := runCLI(t, nil, "reload", "--pid-file", pid); return code == 0 })
	cases := []struct {
		name   string
		file   string
		code   int
		stdout string
		stderr string
	}{
		{"broken-file-refused", "endpoints: {}\nroutes: []\nbogus: 1\n", 1, "", "r.yaml:3:1"},
		{"unchanged-applied", good, 0, "no change", ""},
		{"unknown-endpoint-refused", good + "  - {pattern: echo, members: b}\n", 1, "", `unknown endpoint "b"`},
		// b would listen where the test already does: it cannot start.
		{"taken-port-refused", strings.Replace(good, "endpoints:\n", fmt.Sprintf("endpoints:\n  b: {kind: tcp, listen: %q, framing: lines}\n", held.Addr()), 1) + "  - {pattern: echo, members: b}\n", 1, "", "address already in use"},
		{"new-endpoint-applied", strings.Replace(good, "endpoints:\n", "endpoints:\n  b: {kind: tcp, listen: \"127.0.0.1:0\", framing: lines}\n", 1) + "  - {pattern: echo, members: b}\n", 0, "added b", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			writeFileAt(t, topo, tc.file)
			out, e, code := runCLI(t, nil, "reload", "--pid-file", pid)
			if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(e, tc.stderr) {
				t.Fatalf("exit %d, want %d, %q and %q\nstdout: %s\nstderr: %s", code, tc.code, tc.stdout, tc.stderr, out, e)
			}
		})
	}
	stopBySIGTERM(t, cmd, errOut, "exit after SIGTERM")
	logs := errOut.String()
	for i, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("log line %d is not JSON (%v): %q", i+1, err, line)
		}
	}
	if !strings.Contains(logs, `"msg":"reloaded"`) {
		t.Errorf("no reloaded record in the log:\n%s", logs)
	}
}

// A topology read from stdin cannot be read again: its reload is refused
// with a message that says so, and reload --pid-file exits 1.
func TestCLIReloadOfStdinTopologyRefused(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	pid := filepath.Join(dir, "pxroute.pid")
	cmd := exec.Command(pxroute, "run", "-", "--pid-file", pid)
	cmd.Stdin = strings.NewReader(fmt.Sprintf("endpoints:\n  a: {kind: tcp, listen: %q, framing: lines}\nroutes:\n  - {pattern: echo, members: a}\n", addr))
	errOut := &lockedBuffer{}
	cmd.Stderr = errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, "listening", func() bool { return strings.Contains(errOut.String(), "listening") })
	out, e, code := runCLI(t, nil, "reload", "--pid-file", pid)
	if code != 1 || !strings.Contains(e, "read from standard input") {
		t.Fatalf("reload of a stdin topology: exit %d\nstdout: %s\nstderr: %s", code, out, e)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
}
