package main

import (
	"fmt"
	"strconv"
	"time"
)

// wsIdleScenario: RSS per idle WebSocket connection (10,000), upgraded and
// past one exchange, held by pxroute (an echo route on a websocket
// listener; each client's message came back) and by nats-server's
// websocket listener (each client sent CONNECT, SUB and PING and got its
// PONG). The clients are a helper process: the server holds 10,000
// descriptors, they hold 10,000, each under the 20,000 a process may open.
func wsIdleScenario() scenario {
	run := func(kind string) func(cfg config) (float64, error) {
		return func(cfg config) (float64, error) {
			n := 10000
			if cfg.quick {
				n = 1000
			}
			addrs, err := freeAddrs(2)
			if err != nil {
				return 0, err
			}
			path, proto := "/ws", wsPlain
			var p *process
			if kind == "pxroute" {
				p, err = startRouter(cfg, fmt.Sprintf(`
endpoints:
  e: {kind: tcp, listen: "%s", framing: websocket, path: %s, message: text}
routes:
  - {pattern: echo, members: e}
`, addrs[0], path), 2, addrs[0])
			} else {
				path, proto = "/", wsNATS
				p, err = startNATSWebSocket(cfg, addrs[1], addrs[0])
			}
			if err != nil {
				return 0, err
			}
			defer p.stop()
			return wsIdleRun(p, addrs[0], path, proto, n)
		}
	}
	return scenario{
		name: "ws-idle", title: "Idle WebSocket connections: RSS per upgraded, idle connection held (10,000)", unit: "bytes/connection", lowerIsBetter: true,
		contenders: []contender{
			{"pxroute", "", run("pxroute")},
			{natsWS, "nats-server", run("nats")},
		},
		target: "pxroute ≤ 1.5 KiB per connection",
		check: func(res map[string]float64) (bool, string) {
			return res["pxroute"] <= 1536, fmt.Sprintf("%.0f bytes", res["pxroute"])
		},
	}
}

func wsIdleRun(p *process, addr, path string, proto wsProto, n int) (float64, error) {
	// One connection first, so first-use costs (the handshake's and the
	// framing's code paged in, a loop's buffers) are in the baseline.
	warm, err := loadHelper("ready", 30*time.Second, "ws-idle-clients", addr, path, string(proto), "1")
	if err != nil {
		return 0, err
	}
	time.Sleep(200 * time.Millisecond)
	base, err := p.rssBytes()
	if err != nil {
		warm.stop()
		return 0, err
	}
	fds0 := p.openFDs()
	clients, err := loadHelper("ready", 2*time.Minute, "ws-idle-clients", addr, path, string(proto), strconv.Itoa(n))
	if err != nil {
		warm.stop()
		return 0, err
	}
	defer func() { clients.stop(); warm.stop() }()
	return p.rssPerConn(base, fds0, n)
}
