package tests

import (
	"bufio"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// procStatus reads the number in field key of /proc/self/status
// ("Threads", "VmHWM" in kB).
func procStatus(t *testing.T, key string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			n, err := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s: line in /proc/self/status", key)
	return 0
}

// osThreads is this process's thread count.
func osThreads(t *testing.T) int { return int(procStatus(t, "Threads")) }

// 2,000 connections through a relay: goroutines and OS threads stay flat.
// Only the router runs in this test's process besides the clients, whose
// net.Conns start no goroutines of their own.
func TestConnectionsDoNotGrowGoroutinesOrThreads(t *testing.T) {
	const conns = 2000
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, `
endpoints:
  room: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: room}
`)
			addr := r.Addr("room")
			// Warm up: a few connections and a message, so the runtime
			// has the threads it needs for a running router.
			first := dial(t, addr)
			second := bufio.NewReader(dial(t, addr))
			waitFor(t, "warm-up", func() bool { return endpoint(r.Stats(), "room").Active == 2 })
			io.WriteString(first, "warm\n")
			readLines(t, second, 1)
			time.Sleep(50 * time.Millisecond)
			g0, th0 := runtime.NumGoroutine(), osThreads(t)

			clients := make([]net.Conn, 0, conns)
			for range conns {
				clients = append(clients, dial(t, addr))
			}
			waitFor(t, "all joined", func() bool { return endpoint(r.Stats(), "room").Active == conns+2 })
			io.WriteString(first, "to everyone\n")
			for i, c := range clients {
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil || line != "to everyone\n" {
					t.Fatalf("client %d: %q %v", i, line, err)
				}
			}
			g1, th1 := runtime.NumGoroutine(), osThreads(t)
			t.Logf("%d connections: goroutines %d -> %d, OS threads %d -> %d", conns, g0, g1, th0, th1)
			// A goroutine or thread per connection would add thousands; the
			// runtime may add a few of its own (sysmon, a spare M for syscalls).
			if g1 > g0+2 {
				t.Errorf("goroutines grew from %d to %d with %d connections", g0, g1, conns)
			}
			if th1 > th0+4 {
				t.Errorf("OS threads grew from %d to %d with %d connections", th0, th1, conns)
			}
			for _, c := range clients {
				c.Close()
			}
			waitFor(t, "all left", func() bool { return endpoint(r.Stats(), "room").Active == 2 })
		})
	}
}
