package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// procCPU is a process's user+system CPU seconds, from /proc.
func procCPU(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100 // USER_HZ
}

// At the open-files limit, accepting pauses (one log line), costs no CPU
// while paused, and resumes once descriptors are free again.
func TestAcceptPausesAtTheFileLimit(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			addrs := make([]string, 1)
			l, _ := net.Listen("tcp", "127.0.0.1:0")
			addrs[0] = l.Addr().String()
			l.Close()
			topo := writeFile(t, "room.yaml", fmt.Sprintf(`
endpoints:
  room: {kind: tcp, listen: "%s", framing: lines}
routes:
  - {pattern: relay, members: room}
`, addrs[0]))
			cmd := exec.Command("bash", "-c", fmt.Sprintf("ulimit -n 64 && exec %s run %s --loops 1 --engine %s", pxroute, topo, engine))
			logs := new(lockedBuffer) // written by exec's copier, read here
			cmd.Stderr = logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			var first net.Conn
			waitFor(t, "listener", func() bool {
				c, err := net.Dial("tcp", addrs[0])
				if err == nil {
					first = c
				}
				return err == nil
			})
			// 100 clients: the kernel queues them all, the router can take
			// fewer than 64 descriptors' worth.
			var clients []net.Conn
			for range 100 {
				c, err := net.Dial("tcp", addrs[0])
				if err != nil {
					t.Fatal(err)
				}
				clients = append(clients, c)
			}
			waitFor(t, "accept paused", func() bool { return strings.Contains(logs.String(), "accept paused") })
			cpu0 := procCPU(t, cmd.Process.Pid)
			time.Sleep(time.Second)
			used := procCPU(t, cmd.Process.Pid) - cpu0
			t.Logf("%s: %.2fs of CPU in 1s at the file limit", engine, used)
			if used > 0.2 {
				t.Errorf("router used %.2fs of CPU in 1s while paused: a busy loop", used)
			}
			// One descriptor freed for a moment (a client leaves) lets
			// one accept through, which the next one fails again: still
			// the same episode, one line.
			first.Close()
			time.Sleep(350 * time.Millisecond) // three retries
			if n := strings.Count(logs.String(), "accept paused"); n != 1 || strings.Contains(logs.String(), "accept resumed") {
				t.Errorf("%d 'accept paused' lines for one episode, want 1 and no resume:\n%s", n, logs.String())
			}
			// Free descriptors: accepting resumes and the room works again.
			for _, c := range clients {
				c.Close()
			}
			waitFor(t, "accept resumed", func() bool { return strings.Contains(logs.String(), "accept resumed") })
			a, b := dial(t, addrs[0]), dial(t, addrs[0])
			time.Sleep(100 * time.Millisecond) // both joined
			io.WriteString(a, "back\n")
			rd := bufio.NewReader(b)
			b.SetReadDeadline(time.Now().Add(ioTimeout))
			if got, err := rd.ReadString('\n'); err != nil || got != "back\n" {
				t.Fatalf("after the episode: %q %v\n%s", got, err, logs.String())
			}
		})
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
