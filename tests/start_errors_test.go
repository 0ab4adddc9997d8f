package tests

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/router"
)

// Issue 17 item 8: a start error names the endpoint, its address or path,
// and its position in the topology, on one self-contained line each.
func TestStartErrorsSayWhere(t *testing.T) {
	taken1, taken2 := holdPort(t), holdPort(t)
	dir := t.TempDir()
	cases := []struct {
		name string
		yaml string
		want []string // one regexp per line, in order
	}{
		{"address-in-use", fmt.Sprintf(`
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  b: {kind: tcp, listen: "%s", framing: lines}
routes:
  - {pattern: relay, members: [a, b]}
`, taken1), []string{
			`^start\.yaml:4:3: endpoint b: tcp listen ` + regexp.QuoteMeta(taken1) + `: bind: address already in use$`,
		}},
		{"each-error-on-its-own-line", fmt.Sprintf(`
endpoints:
  a: {kind: tcp, listen: "%s", framing: lines}
  b: {kind: tcp, listen: "%s", framing: lines}
  log: {kind: file, path: %s, mode: append, framing: lines}
routes:
  - {pattern: echo, members: a}
  - {pattern: fanout, from: b, to: log}
`, taken1, taken2, filepath.Join(dir, "missing", "x.log")), []string{
			`^start\.yaml:3:3: endpoint a: tcp listen ` + regexp.QuoteMeta(taken1) + `: bind: address already in use$`,
			`^start\.yaml:4:3: endpoint b: tcp listen ` + regexp.QuoteMeta(taken2) + `: bind: address already in use$`,
			`^start\.yaml:5:3: endpoint log: file append ` + regexp.QuoteMeta(filepath.Join(dir, "missing", "x.log")) + `: .*no such file or directory$`,
		}},
	}
	for _, v := range variants() {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				lines := startError(t, v, tc.yaml)
				checkLines(t, lines, tc.want)
			})
		}
	}
}

// holdPort returns a 127.0.0.1 address whose tcp port the test holds.
func holdPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// A port below 1024 refused for want of CAP_NET_BIND_SERVICE says so.
// The test drops the capability from the one thread that starts the
// router (capabilities are per thread), which the Go runtime then retires.
func TestStartErrorOnAPrivilegedPortSaysWhy(t *testing.T) {
	port := freePrivilegedPort(t)
	yaml := fmt.Sprintf(`
endpoints:
  web: {kind: tcp, listen: "127.0.0.1:%d", framing: lines}
routes:
  - {pattern: echo, members: web}
`, port)
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			done := make(chan []string)
			go func() {
				runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
				if err := dropThreadCap(unix.CAP_NET_BIND_SERVICE); err != nil {
					t.Error(err)
					close(done)
					return
				}
				done <- startError(t, v, yaml)
			}()
			lines := <-done
			checkLines(t, lines, []string{fmt.Sprintf(`^start\.yaml:3:3: endpoint web: tcp listen 127\.0\.0\.1:%d: bind: permission denied \(ports below 1024 need CAP_NET_BIND_SERVICE`, port)})
		})
	}
}

// startError loads yaml as start.yaml and returns Start's error, line by
// line; the test fails if Start succeeds.
func startError(t *testing.T, v variant, yaml string) []string {
	if err := router.EngineUnavailable(v.engine); err != nil {
		t.Errorf("%s cannot run on this machine: %v", v.engine, err)
		return nil
	}
	r, err := router.LoadBytes("start.yaml", []byte(yaml), router.Options{Loops: v.loops, Engine: v.engine})
	if err != nil {
		t.Errorf("load: %v", err)
		return nil
	}
	if err := r.Start(context.Background()); err != nil {
		return strings.Split(err.Error(), "\n")
	}
	r.Stop()
	t.Errorf("started; want a start error")
	return nil
}

func checkLines(t *testing.T, got, want []string) {
	t.Helper()
	for i := 0; i < len(got) || i < len(want); i++ {
		switch {
		case i >= len(want):
			t.Errorf("extra line: %s", got[i])
		case i >= len(got):
			t.Errorf("missing line matching %s", want[i])
		case !regexp.MustCompile(want[i]).MatchString(got[i]):
			t.Errorf("line %d:\n got  %s\n want %s", i, got[i], want[i])
		}
	}
}

// freePrivilegedPort finds a port below 1024 that nothing on 127.0.0.1
// holds (the test runs as root, so it can bind to find out).
func freePrivilegedPort(t *testing.T) int {
	for port := 1000; port > 900; port-- {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port between 901 and 1000")
	return 0
}

// dropThreadCap removes capability c from the calling thread's effective
// set.
func dropThreadCap(c int) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	data[c/32].Effective &^= 1 << (c % 32)
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// Every line of a failed start names its position, each prefixed on its
// own: a log that keeps lines apart loses none of them (issue 17 item 8:
// later lines lost the "pxroute:" prefix).
func TestCLIStartErrorsOneLineEach(t *testing.T) {
	var busy [2]net.Listener
	for i := range busy {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		busy[i] = ln
	}
	topo := filepath.Join(t.TempDir(), "t.yaml")
	os.WriteFile(topo, []byte(fmt.Sprintf(`
endpoints:
  a: {kind: tcp, listen: "%s", framing: lines}
  b: {kind: tcp, listen: "%s", framing: lines}
routes:
  - {pattern: relay, members: [a, b]}
`, busy[0].Addr(), busy[1].Addr())), 0o600)
	_, stderr, code := runCLI(t, nil, "run", topo)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	var errs []string
	for _, l := range lines {
		if strings.Contains(l, "t.yaml:") {
			errs = append(errs, l)
		}
	}
	if code == 0 || len(errs) != 2 {
		t.Fatalf("exit %d, %d error lines, want 2:\n%s", code, len(errs), stderr)
	}
	for _, l := range errs {
		if !strings.HasPrefix(l, "pxroute: "+topo+":") {
			t.Errorf("line %q does not stand on its own (pxroute: FILE:LINE:COL: …)", l)
		}
	}
}
