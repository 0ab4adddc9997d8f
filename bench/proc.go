package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// process is a server the benchmark started: pxroute or a peer.
type process struct {
	cmd *exec.Cmd
	// shared marks a process every contender of a scenario runs alike
	// (the iperf3 server, the echo server behind a relay): its CPU is not
	// the contender's.
	shared bool
}

// contenderCPU adds up the CPU time of the contender's own processes as
// they stop; runScenario reads and resets it around each run.
var contenderCPU float64

// treeCPU is the user+system CPU time of process pid and of its
// descendants, the reaped (cutime, cstime) and the live (socat forks one
// per connection and may not have reaped it yet), read from /proc.
func treeCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if len(f) < 15 {
		return 0
	}
	var ticks float64
	for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime
		v, _ := strconv.ParseFloat(f[i], 64)
		ticks += v
	}
	total := ticks / clockTicks
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, t := range tasks {
		kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		for _, k := range strings.Fields(string(kids)) {
			if child, err := strconv.Atoi(k); err == nil {
				total += treeCPU(child)
			}
		}
	}
	return total
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on Linux.
const clockTicks = 100

// spawn starts name with args and waits until every address in ready
// accepts connections.
func spawn(name string, args []string, ready ...string) (*process, error) {
	cmd := exec.Command(name, args...)
	if filepath.Base(name) == "pxroute" {
		cmd.Stderr = os.Stderr // its warnings matter; peers' chatter does not
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd}
	for _, addr := range ready {
		if err := waitListening(addr); err != nil {
			p.stop()
			return nil, fmt.Errorf("%s: %w", filepath.Base(name), err)
		}
	}
	return p, nil
}

// waitListening waits until a socket listens on addr's port. It looks in
// /proc/net/tcp{,6} rather than connecting: ncat --chat quits
// ("getpeername ... not connected") when it accepts a connection that is
// already gone, as a probe's would be.
func waitListening(addr string) error {
	_, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := listening(port)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// listening reports whether a TCP socket of this host listens on port.
func listening(port int) (bool, error) {
	want := fmt.Sprintf(":%04X", port)
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if os.IsNotExist(err) {
			continue // no IPv6
		}
		if err != nil {
			return false, err
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			// sl local_address rem_address st ...; st 0A is LISTEN
			f := strings.Fields(line)
			if len(f) > 3 && strings.HasSuffix(f[1], want) && f[3] == "0A" {
				return true, nil
			}
		}
	}
	return false, nil
}

// startRouter writes topology to a file and runs pxroute on it.
func startRouter(cfg config, topology string, loops int, ready ...string) (*process, error) {
	path := filepath.Join(cfg.dir, fmt.Sprintf("topology-%d.yaml", time.Now().UnixNano()))
	if err := os.WriteFile(path, []byte(topology), 0o644); err != nil {
		return nil, err
	}
	args := []string{"run", path, "--engine", cfg.engine, "--loops", strconv.Itoa(loops), "--log-level", "warn"}
	if cfg.profileDir != "" {
		args = append(args, "--cpuprofile", filepath.Join(cfg.profileDir, fmt.Sprintf("pxroute-%d.prof", time.Now().UnixNano())))
	}
	return spawn(cfg.bin, args, ready...)
}

// helper runs this benchmark binary in one of its helper roles (a Go echo
// server, a Go relay, a sendfile copier) as a process of its own, so that
// its CPU and memory are its own.
func helper(role string, args ...string) (*process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return spawn(self, append([]string{"-helper", role}, args...), helperReady(role, args)...)
}

func helperReady(role string, args []string) []string {
	switch role {
	case "echo", "frames", "lines", "relay":
		return args[:1]
	}
	return nil
}

func (p *process) stop() {
	if !p.shared {
		contenderCPU += treeCPU(p.cmd.Process.Pid)
	}
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// rssPerConn waits until p holds n descriptors more than fds0 (its idle
// connections, accepted), lets it settle, and gives its RSS growth over
// base per connection. Settling takes 3.5 s: the connections are idle,
// not just opened, and a TLS server's handshake garbage (with what its
// idle connections let go of) is given back 2.5 s after its last
// handshake (endpoints/tls_release.go).
func (p *process) rssPerConn(base int64, fds0, n int) (float64, error) {
	deadline := time.Now().Add(30 * time.Second)
	for p.openFDs() < fds0+n {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the server holds %d fds, want %d", p.openFDs(), fds0+n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(3500 * time.Millisecond)
	rss, err := p.rssBytes()
	if err != nil {
		return 0, err
	}
	return float64(rss-base) / float64(n), nil
}

// rssBytes reads the process's resident set from /proc.
func (p *process) rssBytes() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS")
}

// openFDs counts the process's open descriptors.
func (p *process) openFDs() int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid))
	return len(ents)
}

// freeAddrs picks n loopback addresses with free ports.
func freeAddrs(n int) ([]string, error) {
	low, err := ephemeralLow()
	if err != nil {
		return nil, err
	}
	var out []string
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for tries := 0; len(out) < n; tries++ {
		if tries == 1000 {
			return nil, fmt.Errorf("no free port below %d on 127.0.0.1 in 1000 tries", low)
		}
		port := fixedLow + rand.IntN(low-fixedLow)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // taken: another
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	return out, nil
}

// fixedLow is the lowest port freeAddrs hands out.
const fixedLow = 10000

// ephemeralLow is the first port of the kernel's range for connecting
// sockets and binds to port 0 (net.ipv4.ip_local_port_range). freeAddrs
// stays below it: a port it found free is closed again before the
// server it is for binds it, and in between any connect on the machine
// (20,000 of them in the idle scenarios, the tests beside them) could
// be given it as its local port, after which that server cannot bind
// ("nothing listens").
func ephemeralLow() (int, error) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, fmt.Errorf("ip_local_port_range: %q", b)
	}
	low, err := strconv.Atoi(f[0])
	if err != nil || low <= fixedLow+1000 {
		return 0, fmt.Errorf("ip_local_port_range starts at %q: want above %d", f[0], fixedLow+1000)
	}
	return low, nil
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
