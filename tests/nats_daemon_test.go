package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// daemon is one pxroute process run by the CLI binary (built once by
// cli_test.go's TestMain), as an operator runs one per host: its own
// topology file, engine, loops and admin endpoint. The cross-daemon NATS
// tests run three of them, so that nothing in one process (an origin id,
// a map, a loop) can stand in for what must cross NATS.
type daemon struct {
	t      *testing.T
	name   string
	topo   string // the topology file
	admin  string // the --admin address
	v      variant
	ready  []string // listeners that accept once it runs
	cmd    *exec.Cmd
	log    *lockedBuffer // its stderr, every run's
	exited chan struct{}
}

// startDaemon writes yaml to a file and runs pxroute on it under v, with
// debug logs kept; it waits until the admin endpoint and every address in
// ready accept connections. The process is killed when the test ends.
func startDaemon(t *testing.T, name string, v variant, yaml string, ready ...string) *daemon {
	t.Helper()
	if err := router.EngineUnavailable(v.engine); err != nil {
		t.Fatalf("%s cannot run on this machine: %v", v.engine, err)
	}
	d := &daemon{t: t, name: name, v: v, admin: freePort(t), ready: ready, log: &lockedBuffer{}}
	d.topo = filepath.Join(t.TempDir(), name+".yaml")
	writeFileAt(t, d.topo, yaml)
	d.run()
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("daemon %s (%s) log:\n%s", d.name, d.v, d.logs())
		}
	})
	return d
}

// run starts the process (again, after kill) and waits until it is up.
func (d *daemon) run() {
	d.t.Helper()
	d.cmd = exec.Command(pxroute, "run", d.topo, "--engine", d.v.engine, "--loops", strconv.Itoa(d.v.loops),
		"--admin", d.admin, "--log-level", "debug")
	fmt.Fprintf(d.log, "---- %s starts (%s)\n", d.name, d.v)
	d.cmd.Stderr, d.cmd.Stdout = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		d.t.Fatalf("daemon %s: %v", d.name, err)
	}
	d.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { cmd.Wait(); close(exited) }(d.cmd, d.exited)
	for _, addr := range append([]string{d.admin}, d.ready...) {
		waitFor(d.t, fmt.Sprintf("daemon %s listening on %s", d.name, addr), func() bool {
			select {
			case <-d.exited:
				d.t.Fatalf("daemon %s exited: %s\n%s", d.name, d.cmd.ProcessState, d.logs())
			default:
			}
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
}

// stop ends the process as an operator would (SIGTERM, then SIGKILL if
// it lingers); a stopped daemon may run again.
func (d *daemon) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(ioTimeout):
		d.cmd.Process.Kill()
		<-d.exited
	}
}

// restart stops the daemon and runs it again on the same topology and
// addresses.
func (d *daemon) restart() {
	d.t.Helper()
	d.stop()
	d.run()
}

func (d *daemon) logs() string { return d.log.String() }

// stats reads the daemon's /stats.
func (d *daemon) stats() router.Stats {
	d.t.Helper()
	body := d.get("/stats")
	var s router.Stats
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		d.t.Fatalf("daemon %s /stats: %v\n%s", d.name, err, body)
	}
	return s
}

// endpoint is one endpoint's figures from /stats.
func (d *daemon) endpoint(name string) router.EndpointStats {
	d.t.Helper()
	for _, e := range d.stats().Endpoints {
		if e.Name == name {
			return e
		}
	}
	d.t.Fatalf("daemon %s: no endpoint %q in /stats", d.name, name)
	return router.EndpointStats{}
}

// metrics reads the daemon's /metrics.
func (d *daemon) metrics() string { return d.get("/metrics") }

func (d *daemon) get(path string) string {
	d.t.Helper()
	c := &http.Client{Timeout: ioTimeout}
	resp, err := c.Get("http://" + d.admin + path)
	if err != nil {
		d.t.Fatalf("daemon %s %s: %v", d.name, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		d.t.Fatalf("daemon %s %s: %s\n%s", d.name, path, resp.Status, b)
	}
	return string(b)
}

// waitLog waits until the daemon's log holds want.
func (d *daemon) waitLog(want string) {
	d.t.Helper()
	waitFor(d.t, fmt.Sprintf("daemon %s to log %q", d.name, want), func() bool { return strings.Contains(d.logs(), want) })
}

// natsEstablished reports whether a nats endpoint's connection has
// completed its handshake (CONNECT, SUBs, PING answered): its
// subscriptions are in place on the server.
func natsEstablished(e router.EndpointStats) bool {
	return e.Active == 1 && e.ConnectedTo != "" && e.Session["connects"] > 0
}

// daemonVariants gives the daemons of one test different engines and loop
// counts: separate processes, so each can run its own.
func daemonVariants(n int) []variant {
	all := variants()
	out := make([]variant, n)
	for i := range out {
		out[i] = all[(i*3+1)%len(all)]
	}
	return out
}
