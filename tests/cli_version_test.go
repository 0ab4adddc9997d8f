package tests

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// pxroute version reports what the build info holds: the module version
// ("(devel)" for a build from a work tree), VCS revision and time (or
// "unknown"), and the Go version that built it.
func TestCLIVersionReportsBuildInfo(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, e, code := runCLI(t, nil, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, e)
		}
		for _, want := range []string{"pxroute ", "revision ", "time ", "go " + runtime.Version()} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: output lacks %q:\n%s", args, want, out)
			}
		}
		if strings.Contains(out, "dev\n") {
			t.Errorf("%v: still says dev:\n%s", args, out)
		}
	}
}

// Asking for help is no usage error: exit 0, the usage on stdout.
func TestCLIHelpExitsZero(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-h"}, "pxroute run"},
		{[]string{"--help"}, "pxroute run"},
		{[]string{"help"}, "pxroute run"},
		{[]string{"run", "--help"}, "-loops"},
		{[]string{"run", "-h"}, "-admin-token-file"},
		{[]string{"check", "--help"}, "pxroute check"},
		{[]string{"disasm", "--help"}, "pxroute disasm"},
		{[]string{"reload", "--help"}, "-pid-file"},
		{[]string{"stats", "--help"}, "-admin-token-file"},
		{[]string{"top", "-h"}, "-interval"},
		{[]string{"version", "--help"}, "pxroute version"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, e, code := runCLI(t, nil, tc.args...)
			if code != 0 || !strings.Contains(out+e, tc.want) {
				t.Fatalf("exit %d, want 0 and %q\nstdout: %s\nstderr: %s", code, tc.want, out, e)
			}
		})
	}
}

// run - and check - read the topology from standard input, named <stdin>
// in errors.
func TestCLITopologyFromStdin(t *testing.T) {
	good := "endpoints:\n  a: {kind: tcp, listen: \"127.0.0.1:0\", framing: lines}\nroutes:\n  - {pattern: echo, members: a}\n"
	bad := "endpoints:\n  a: {kind: tcp, listen: \"127.0.0.1:0\", framing: morse}\nroutes:\n  - {pattern: echo, members: a}\n"
	cases := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout string
		stderr string
	}{
		{"check-valid", []string{"check", "-"}, good, 0, "<stdin>: ok", ""},
		{"check-invalid-names-stdin", []string{"check", "-"}, bad, 1, "", `<stdin>:2:50: unknown framing "morse"`},
		{"run-invalid-names-stdin", []string{"run", "-"}, bad, 1, "", `<stdin>:2:50: unknown framing "morse"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, e, code := runCLI(t, strings.NewReader(tc.stdin), tc.args...)
			if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(e, tc.stderr) {
				t.Fatalf("exit %d, want %d, %q and %q\nstdout: %s\nstderr: %s", code, tc.code, tc.stdout, tc.stderr, out, e)
			}
		})
	}
}

// run - serves the topology read from stdin: a relay answers.
func TestCLIRunTopologyFromStdin(t *testing.T) {
	addr := freePort(t)
	cmd := exec.Command(pxroute, "run", "-", "--loops", "2")
	cmd.Stdin = strings.NewReader(fmt.Sprintf("endpoints:\n  a: {kind: tcp, listen: %q, framing: lines}\nroutes:\n  - {pattern: echo, members: a}\n", addr))
	errOut := &lockedBuffer{}
	cmd.Stderr = errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, "the stdin topology listening", func() bool { return strings.Contains(errOut.String(), "listening") })
	c := dial(t, addr)
	io.WriteString(c, "ping\n")
	if got := readLines(t, bufio.NewReader(c), 1)[0]; got != "ping" {
		t.Fatalf("echo got %q", got)
	}
	stopBySIGTERM(t, cmd, errOut, "exit after SIGTERM")
	if !strings.Contains(errOut.String(), "topology=<stdin>") {
		t.Errorf("the log does not name <stdin>:\n%s", errOut.String())
	}
}
