package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"time"
)

func bridgeScenario() scenario {
	run := func(via string) func(cfg config) (float64, error) {
		return func(cfg config) (float64, error) {
			addrs, err := freeAddrs(2)
			if err != nil {
				return 0, err
			}
			srv, err := spawn("iperf3", []string{"-s", "-B", "127.0.0.1", "-p", port(addrs[0])}, addrs[0])
			if err != nil {
				return 0, err
			}
			defer srv.stop()
			srv.shared = true
			target := addrs[0]
			switch via {
			case "pxroute":
				r, err := startRouter(cfg, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "%s"}
  back:  {kind: tcp, connect: "%s"}
routes:
  - {pattern: bridge, from: front, to: back}
`, addrs[1], addrs[0]), 2, addrs[1])
				if err != nil {
					return 0, err
				}
				defer r.stop()
				target = addrs[1]
			case "socat":
				p, err := spawn("socat", []string{"TCP-LISTEN:" + port(addrs[1]) + ",bind=127.0.0.1,fork,reuseaddr", "TCP:" + addrs[0]}, addrs[1])
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
			// The iperf3 server serves one client at a time, and the
			// readiness probe through a relay reaches it as a client:
			// when it says it is busy, ask again.
			secs := strconv.Itoa(max(1, int(cfg.dur(5*time.Second).Seconds())))
			var last error
			for range 5 {
				out, err := exec.Command("iperf3", "-c", "127.0.0.1", "-p", port(target), "-t", secs, "-J").Output()
				var rep struct {
					End struct {
						SumReceived struct {
							BitsPerSecond float64 `json:"bits_per_second"`
						} `json:"sum_received"`
					} `json:"end"`
					Error string `json:"error"`
				}
				json.Unmarshal(out, &rep)
				if bps := rep.End.SumReceived.BitsPerSecond; err == nil && bps > 0 {
					return bps / 1e9, nil
				}
				last = fmt.Errorf("iperf3 measured nothing: %v %s", err, rep.Error)
				time.Sleep(300 * time.Millisecond)
			}
			return 0, last
		}
	}
	return scenario{
		name: "bridge", title: "Bridge throughput: iperf3 TCP through a 1:1 relay", unit: "Gbit/s",
		contenders: []contender{
			{"pxroute", "iperf3", run("pxroute")},
			{"iperf3 direct (no relay)", "iperf3", run("direct")},
			{"socat", "socat", run("socat")},
			{"Go io.Copy relay", "iperf3", run("Go io.Copy relay")},
		},
		target: "pxroute ≥ 0.85 × iperf3 direct", check: ratioAtLeast(0.85, "iperf3 direct (no relay)"),
	}
}

// ---- 2. fan-out ----
