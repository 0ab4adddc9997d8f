package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"sort"
	"time"
)

func latencyScenario() scenario {
	run := func(via string) func(cfg config) (float64, error) {
		return func(cfg config) (float64, error) {
			addrs, err := freeAddrs(2)
			if err != nil {
				return 0, err
			}
			echo, err := helper("echo", addrs[0])
			if err != nil {
				return 0, err
			}
			defer echo.stop()
			echo.shared = true
			target := addrs[0]
			switch via {
			case "pxroute":
				r, err := startRouter(cfg, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "%s", framing: lines}
  back:  {kind: tcp, connect: "%s", framing: lines}
routes:
  - {pattern: bridge, from: front, to: back}
`, addrs[1], addrs[0]), 2, addrs[1])
				if err != nil {
					return 0, err
				}
				defer r.stop()
				target = addrs[1]
			case "socat":
				p, err := spawn("socat", []string{"TCP-LISTEN:" + port(addrs[1]) + ",bind=127.0.0.1,fork,reuseaddr,nodelay", "TCP:" + addrs[0] + ",nodelay"}, addrs[1])
				if err != nil {
					return 0, err
				}
				defer p.stop()
				target = addrs[1]
			case "Go io.Copy relay":
				p, err := helper("relay", addrs[1], addrs[0])
				if err != nil {
					return 0, err
				}
				defer p.stop()
				target = addrs[1]
			}
			p50, _, err := pingPong(cfg, target)
			return p50, err
		}
	}
	return scenario{
		name: "latency", title: "Latency: 64-byte line round trips through a bridge to an echo server (p50)", unit: "µs", lowerIsBetter: true,
		contenders: []contender{
			{"pxroute", "", run("pxroute")},
			{"direct (no relay)", "", run("direct")},
			{"socat", "socat", run("socat")},
			{"Go io.Copy relay", "", run("Go io.Copy relay")},
		},
		target: "pxroute p50 ≤ 3 × direct",
		check: func(res map[string]float64) (bool, string) {
			r := res["pxroute"] / res["direct (no relay)"]
			return r <= 3, fmt.Sprintf("%.2f× direct", r)
		},
	}
}

// pingPong sends one 64-byte line at a time and waits for it back; p50
// and p99 in µs.
func pingPong(cfg config, addr string) (float64, float64, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	rd := bufio.NewReader(c)
	line := append(bytes.Repeat([]byte("p"), 63), '\n')
	n := 5000
	if cfg.quick {
		n = 500
	}
	lat := make([]float64, 0, n)
	for i := 0; i < n+200; i++ {
		t := time.Now()
		if _, err := c.Write(line); err != nil {
			return 0, 0, err
		}
		if _, err := rd.ReadSlice('\n'); err != nil {
			return 0, 0, err
		}
		if i >= 200 { // after a warm-up
			lat = append(lat, float64(time.Since(t).Nanoseconds())/1e3)
		}
	}
	sort.Float64s(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100], nil
}

// ---- 6. chat relay ----
