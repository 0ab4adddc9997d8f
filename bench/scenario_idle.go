package main

import (
	"fmt"
	"io"
	"net"
	"time"
)

func idleScenario() scenario {
	run := func(kind string) func(cfg config) (float64, error) {
		return func(cfg config) (float64, error) {
			n := 15000
			if cfg.quick {
				n = 1000
			}
			addrs, err := freeAddrs(1)
			if err != nil {
				return 0, err
			}
			var p *process
			if kind == "pxroute" {
				p, err = startRouter(cfg, fmt.Sprintf(`
endpoints:
  room: {kind: tcp, listen: "%s", framing: lines}
routes:
  - {pattern: relay, members: room}
`, addrs[0]), 2, addrs[0])
			} else {
				p, err = helper("lines", addrs[0])
			}
			if err != nil {
				return 0, err
			}
			defer p.stop()
			return idleRun(p, addrs[0], n)
		}
	}
	return scenario{
		name: "idle-15k", title: "Idle connections: RSS per connection held", unit: "bytes/connection", lowerIsBetter: true,
		contenders: []contender{
			{"pxroute", "", run("pxroute")},
			{"Go net (goroutine per conn, bufio lines)", "", run("go")},
		},
		target: "pxroute ≤ 1 KiB per connection",
		check: func(res map[string]float64) (bool, string) {
			return res["pxroute"] <= 1024, fmt.Sprintf("%.0f bytes", res["pxroute"])
		},
	}
}

func idleRun(p *process, addr string, n int) (float64, error) {
	// One exchange first, so first-use costs are in the baseline.
	a, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer a.Close()
	io.WriteString(a, "warm\n")
	time.Sleep(200 * time.Millisecond)
	base, err := p.rssBytes()
	if err != nil {
		return 0, err
	}
	fds0 := p.openFDs()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return 0, fmt.Errorf("after %d connections: %w", len(conns), err)
		}
		conns = append(conns, c)
	}
	return p.rssPerConn(base, fds0, n)
}

// ---- 5. latency ----
