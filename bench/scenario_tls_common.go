package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// byteSink counts the bytes it reads, a goroutine per connection, in the
// benchmark's own process: plain behind a relay, TLS for the "no relay"
// runs.
type byteSink struct {
	ln    net.Listener
	got   atomic.Int64
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startSink(conf *tls.Config) (*byteSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if conf != nil {
		ln = tls.NewListener(ln, conf)
	}
	s := &byteSink{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				buf := make([]byte, 256<<10)
				for {
					n, err := c.Read(buf)
					s.got.Add(int64(n))
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return s, nil
}

func (s *byteSink) addr() string { return s.ln.Addr().String() }

func (s *byteSink) close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// serverTLS loads a certificate for the benchmark's in-process servers.
func serverTLS(f tlsFiles) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(f.cert, f.key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}, nil
}

// tlsHelper runs a helper role that serves on ready (the Go relay, the Go
// line echo server) as a process of its own.
func tlsHelper(role, ready string, args ...string) (*process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return spawn(self, append([]string{"-helper", role}, args...), ready)
}

// loadHelper runs a load-generating helper role (shared: its CPU is no
// contender's) and waits up to wait for its first line on stdout, want.
func loadHelper(want string, wait time.Duration, role string, args ...string) (*process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, append([]string{"-helper", role}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, shared: true}
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	select {
	case l := <-line:
		if l == want {
			return p, nil
		}
		p.stop()
		return nil, fmt.Errorf("%s: it said %q, not %q (its stderr says why)", role, l, want)
	case <-time.After(wait):
		p.stop()
		return nil, fmt.Errorf("%s: not %q after %v", role, want, wait)
	}
}

// perRun collects a figure per contender and repetition that the table
// has no column for, and renders their medians as a footer table.
type perRun struct {
	mu     sync.Mutex
	order  []string
	values map[string][]float64
}

func (p *perRun) add(name string, v float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.values == nil {
		p.values = map[string][]float64{}
	}
	if _, ok := p.values[name]; !ok {
		p.order = append(p.order, name)
	}
	p.values[name] = append(p.values[name], v)
}

// table renders one row per contender measured: the median and spread of
// each column's figures (columns share the contender names' order).
func perRunTable(caption string, heads []string, cols ...*perRun) string {
	if len(cols) == 0 || len(cols[0].order) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n| contender | %s |\n| --- |%s\n", caption, strings.Join(heads, " | "), strings.Repeat(" --- |", len(heads)))
	for _, name := range cols[0].order {
		fmt.Fprintf(&b, "| %s |", name)
		for _, c := range cols {
			if v := c.values[name]; len(v) > 0 {
				fmt.Fprintf(&b, " %s |", valueText(spread(v)))
			} else {
				b.WriteString(" — |")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
