package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// pxroute is the path of the binary built once for the CLI tests.
var pxroute string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pxroute-cli")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pxroute = filepath.Join(dir, "pxroute")
	_, file, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-o", pxroute, "./cmd/pxroute")
	build.Dir = filepath.Dir(filepath.Dir(file))
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building pxroute: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// runCLI runs pxroute with args and a bounded time.
func runCLI(t *testing.T, stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(pxroute, args...)
	cmd.Dir = repoRoot()
	var o, e bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &o, &e
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(ioTimeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("pxroute %v did not finish", args)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCLICheckEveryExampleTopology(t *testing.T) {
	exampleCurveKey(t) // pxroute inherits the environment
	files, _ := filepath.Glob(filepath.Join(repoRoot(), "topologies", "*.yaml"))
	if len(files) < 5 {
		t.Fatalf("only %d example topologies", len(files))
	}
	for _, f := range files {
		rel, _ := filepath.Rel(repoRoot(), f)
		if out, errOut, code := runCLI(t, nil, "check", rel); code != 0 {
			t.Errorf("check %s: exit %d\n%s%s", rel, code, out, errOut)
		}
	}
}

func TestCLIExitCodes(t *testing.T) {
	bad := `endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", framing: morse}
  b: {kind: tcp}
routes:
  - {pattern: relay, members: [a, c]}
`
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring
		stderr []string
	}{
		{"no-args", nil, 2, "", []string{"usage:"}},
		{"unknown-command", []string{"frobnicate"}, 2, "", []string{`unknown command "frobnicate"`}},
		{"check-no-files", []string{"check"}, 2, "", []string{"usage: pxroute check"}},
		{"check-valid", []string{"check", "topologies/chat.yaml"}, 0, "topologies/chat.yaml: ok", nil},
		{"check-missing-file", []string{"check", "nope.yaml"}, 1, "", []string{"nope.yaml"}},
		{"check-invalid-lists-every-error", []string{"check", "BAD"}, 1, "", []string{
			`bad.yaml:2:50: unknown framing "morse"`,
			`bad.yaml:3:3: needs listen: or connect:`,
			`bad.yaml:5:35: unknown endpoint "c"`,
		}},
		{"disasm", []string{"disasm", "topologies/chat.yaml"}, 0, "send      others route1.members", nil},
		{"disasm-usage", []string{"disasm"}, 2, "", []string{"usage: pxroute disasm"}},
		{"version", []string{"version"}, 0, "pxroute ", nil},
		{"run-bad-flag", []string{"run", "--loops", "x"}, 2, "", []string{"invalid value"}},
		{"run-invalid-topology", []string{"run", "BAD"}, 1, "", []string{`unknown framing "morse"`}},
	}
	badPath := writeFile(t, "bad.yaml", bad)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string(nil), tc.args...)
			for i, a := range args {
				if a == "BAD" {
					args[i] = badPath
				}
			}
			out, errOut, code := runCLI(t, nil, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out, tc.stdout) {
				t.Errorf("stdout %q lacks %q", out, tc.stdout)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
		})
	}
}

// pxroute run with no file runs the embedded chat relay and says how to
// join; SIGTERM stops it with exit 0.
func TestCLIRunDefaultRelay(t *testing.T) {
	cmd := exec.Command(pxroute, "run", "--loops", "2")
	stdout, _ := cmd.StdoutPipe()
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.Contains(line, "nc 127.0.0.1 7000") {
		t.Fatalf("first line %q (%v); stderr:\n%s", line, err, errOut.String())
	}
	a, b := dial(t, "127.0.0.1:7000"), dial(t, "127.0.0.1:7000")
	time.Sleep(50 * time.Millisecond) // both joined before a speaks
	io.WriteString(a, "hello\n")
	if got := readLines(t, bufio.NewReader(b), 1)[0]; got != "hello" {
		t.Fatalf("b got %q", got)
	}
	stopBySIGTERM(t, cmd, &errOut, "exit after SIGTERM")
}

// stdin to a TCP server, one way: pxroute exits 0 once stdin ends, the
// bytes are delivered and the server closes.
func TestCLIRunStdinForwardExitsWhenDone(t *testing.T) {
	s := newSink(t)
	topo := writeFile(t, "fwd.yaml", fmt.Sprintf(`
endpoints:
  in:  {kind: stdin}
  out: {kind: tcp, connect: "%s"}
routes:
  - {pattern: forward, from: in, to: out}
`, s.addr))
	payload := strings.Repeat("from stdin\n", 20000)
	_, errOut, code := runCLI(t, strings.NewReader(payload), "run", topo)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if got := s.next(t); string(got) != payload {
		t.Fatalf("sink got %d bytes, want %d", len(got), len(payload))
	}
}
