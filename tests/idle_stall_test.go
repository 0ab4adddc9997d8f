package tests

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// A loop that was held up (the process stopped, a long GC, an overloaded
// machine) wakes to its overdue idle sweep and the input that arrived
// meanwhile in one batch of completions. The sweep must see that input:
// a connection whose lines were waiting is not idle. When the sweep ran
// as the timer's completion came up, it closed such a connection if the
// timer came first in the batch (on io_uring it does: the timer's
// completion is posted while the process is stopped, the receive's only
// once the loop runs again).
func TestIdleSweepSeesInputThatArrivedWhileTheLoopWasHeldUp(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			addr := freePort(t)
			file := filepath.Join(t.TempDir(), "idle.yaml")
			writeFileAt(t, file, fmt.Sprintf(`
endpoints:
  e: {kind: tcp, listen: %q, framing: lines, idle_timeout: 400ms}
routes:
  - {pattern: echo, members: e}
`, addr))
			cmd := exec.Command(pxroute, "run", file, "--loops", strconv.Itoa(v.loops), "--engine", v.engine, "--log-level", "debug")
			errOut := &lockedBuffer{}
			cmd.Stderr = errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cmd.Process.Signal(syscall.SIGCONT)
				cmd.Process.Kill()
				cmd.Wait()
			}()
			var c net.Conn
			waitFor(t, "the listener", func() bool {
				conn, err := net.DialTimeout("tcp", addr, ioTimeout)
				c = conn
				return err == nil
			})
			defer c.Close()
			c.SetDeadline(time.Now().Add(ioTimeout))
			rd := bufio.NewReader(c)
			for i := range 3 {
				fmt.Fprintf(c, "before %d\n", i)
				readLines(t, rd, 1)
			}
			// Held up for three idle timeouts, with a line every 100 ms
			// all along: the kernel keeps them for the router.
			cmd.Process.Signal(syscall.SIGSTOP)
			const lines = 12
			for i := range lines {
				time.Sleep(100 * time.Millisecond)
				fmt.Fprintf(c, "held %d\n", i)
			}
			cmd.Process.Signal(syscall.SIGCONT)
			for i := range lines {
				line, err := rd.ReadString('\n')
				if err != nil {
					t.Fatalf("after %d of %d lines sent while it was held up: %v (it closed a connection whose lines were waiting)\n%s", i, lines, err, errOut.String())
				}
				if want := fmt.Sprintf("held %d\n", i); line != want {
					t.Fatalf("got %q, want %q", line, want)
				}
			}
		})
	}
}
