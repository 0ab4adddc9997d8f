package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// freePort returns a loopback address nothing listens on just now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// writeFileAt replaces the file at path with text.
func writeFileAt(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: ioTimeout}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The daemon's operations end to end: the admin endpoint, pxroute stats,
// top and reload (by admin and by pid file), and the stop summary.
func TestCLIOperations(t *testing.T) {
	dir := t.TempDir()
	chat, admin := freePort(t), freePort(t)
	topo := filepath.Join(dir, "ops.yaml")
	write := func(extra string) {
		text := fmt.Sprintf("endpoints:\n  chat: {kind: tcp, listen: %q, framing: lines}\n%sroutes:\n  - {pattern: relay, members: chat}\n", chat, extra)
		if extra != "" {
			text += "  - {pattern: echo, members: more}\n"
		}
		writeFileAt(t, topo, text)
	}
	write("")
	pid := filepath.Join(dir, "pxroute.pid")
	cmd := exec.Command(pxroute, "run", topo, "--loops", "2", "--admin", admin, "--pid-file", pid)
	errOut := &lockedBuffer{}
	cmd.Stderr = errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, "the admin endpoint", func() bool {
		c, err := net.Dial("tcp", admin)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	base := "http://" + admin
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := httpGet(t, base+path); code != 200 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
	}
	a, b := dial(t, chat), dial(t, chat)
	time.Sleep(50 * time.Millisecond)
	io.WriteString(a, "hi\n")
	readLines(t, bufio.NewReader(b), 1)

	_, metrics := httpGet(t, base+"/metrics")
	for _, want := range []string{
		"# TYPE pxroute_endpoint_connections gauge",
		`pxroute_endpoint_connections{endpoint="chat"} 2`,
		"# TYPE pxroute_endpoint_received_messages_total counter",
		`pxroute_endpoint_dropped_messages_total{endpoint="chat",reason="hwm"} 0`,
		`pxroute_loop_completions_total{loop="1"}`,
		`pxroute_opcode_executions_total{op="recv"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Fatalf("/metrics lacks %q:\n%s", want, metrics)
		}
	}
	_, js := httpGet(t, base+"/stats")
	var s router.Stats
	if err := json.Unmarshal([]byte(js), &s); err != nil || len(s.Endpoints) != 1 || s.Endpoints[0].MsgsIn != 1 {
		t.Fatalf("/stats: %v\n%s", err, js)
	}

	out, e, code := runCLI(t, nil, "stats", "--admin", admin)
	if code != 0 || !strings.Contains(out, "chat") || !strings.Contains(out, "msgs in") {
		t.Fatalf("pxroute stats: %d\n%s%s", code, out, e)
	}
	out, e, code = runCLI(t, nil, "top", "--admin", admin, "--interval", "50ms", "--count", "2")
	if code != 0 || strings.Count(out, "msgs in/s") != 2 {
		t.Fatalf("pxroute top: %d\n%s%s", code, out, e)
	}

	// Reload through the admin endpoint: a new endpoint, the relay kept.
	more := freePort(t)
	write(fmt.Sprintf("  more: {kind: tcp, listen: %q, framing: lines}\n", more))
	out, e, code = runCLI(t, nil, "reload", "--admin", admin)
	if code != 0 || !strings.Contains(out, "added more; kept chat") {
		t.Fatalf("pxroute reload --admin: %d\n%s%s", code, out, e)
	}
	io.WriteString(a, "after reload\n")
	if got := readLines(t, bufio.NewReader(b), 1)[0]; got != "after reload" {
		t.Fatalf("the relay lost its members: %q", got)
	}
	// A broken file: refused, exit 1, the errors shown.
	writeFileAt(t, topo, "endpoints: {}\nroutes: []\nbogus: 1\n")
	out, e, code = runCLI(t, nil, "reload", "--admin", admin)
	if code != 1 || !strings.Contains(e, "ops.yaml:3:1") {
		t.Fatalf("reload of a broken file: %d\n%s%s", code, out, e)
	}
	// Reload by pid file (SIGHUP): back to the relay alone.
	write("")
	if out, e, code = runCLI(t, nil, "reload", "--pid-file", pid); code != 0 || !strings.Contains(out, "reloaded: removed more; kept chat") {
		t.Fatalf("pxroute reload --pid-file: %d\n%s%s", code, out, e)
	}

	stopBySIGTERM(t, cmd, errOut, "exit after SIGTERM")
	if !strings.Contains(errOut.String(), "msg=stopped received=2 delivered=2 undelivered=0 dropped=0") {
		t.Fatalf("no stop summary:\n%s", errOut.String())
	}
}
