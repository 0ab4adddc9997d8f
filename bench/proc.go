package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// router is a running pxroute process.
type router struct {
	cmd *exec.Cmd
}

// startRouter writes topology to a file and runs pxroute on it with engine,
// waiting until every address in ready accepts connections.
func startRouter(cfg config, engine, topology string, loops int, ready ...string) (*router, error) {
	path := filepath.Join(cfg.dir, "topology.yaml")
	if err := os.WriteFile(path, []byte(topology), 0o644); err != nil {
		return nil, err
	}
	args := []string{"run", path, "--engine", engine, "--loops", strconv.Itoa(loops), "--log-level", "warn"}
	if cfg.profileDir != "" {
		args = append(args, "--cpuprofile", filepath.Join(cfg.profileDir, fmt.Sprintf("%s-%d.prof", engine, time.Now().UnixNano())))
	}
	cmd := exec.Command(cfg.bin, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &router{cmd: cmd}
	for _, addr := range ready {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				r.stop()
				return nil, fmt.Errorf("pxroute never listened on %s", addr)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return r, nil
}

func (r *router) stop() {
	r.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-done
	}
}

// rssBytes reads the process's resident set from /proc.
func (r *router) rssBytes() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", r.cmd.Process.Pid))
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

// cpuSeconds is the process's user+system CPU time so far, from /proc.
func (r *router) cpuSeconds() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on Linux.
const clockTicks = 100

// openFDs counts the process's open descriptors.
func (r *router) openFDs() int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", r.cmd.Process.Pid))
	return len(ents)
}

// freeAddrs picks n loopback addresses with free ports.
func freeAddrs(n int) ([]string, error) {
	var out []string
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	return out, nil
}
