package main

import (
	"fmt"
	"strconv"
	"time"
)

const tlsGoLines = "Go crypto/tls (goroutine per conn, bufio lines)"

// tlsIdleScenario: RSS per idle TLS connection held by a line echo server
// (pxroute's echo route on a tls listener; the Go one with crypto/tls).
// Each connection is handshaken and has echoed one line. The clients are
// another process: the server holds 10,000 descriptors, they hold 10,000,
// each under the 20,000 a process may open here.
func tlsIdleScenario() scenario {
	run := func(kind string) func(cfg config) (float64, error) {
		return func(cfg config) (float64, error) {
			n := 10000
			if cfg.quick {
				n = 1000
			}
			certs, err := benchCerts(cfg)
			if err != nil {
				return 0, err
			}
			f := certs["ecdsa"]
			addrs, err := freeAddrs(1)
			if err != nil {
				return 0, err
			}
			var p *process
			if kind == "pxroute" {
				p, err = startRouter(cfg, fmt.Sprintf(`
endpoints:
  e: {kind: tcp, listen: "%s", framing: lines, tls: {cert: %q, key: %q}}
routes:
  - {pattern: echo, members: e}
`, addrs[0], f.cert, f.key), 2, addrs[0])
			} else {
				p, err = tlsHelper("tls-lines", addrs[0], addrs[0], f.cert, f.key)
			}
			if err != nil {
				return 0, err
			}
			defer p.stop()
			return tlsIdleRun(p, addrs[0], f, n)
		}
	}
	return scenario{
		name: "tls-idle", title: "Idle TLS connections: RSS per handshaken, idle connection held (10,000)", unit: "bytes/connection", lowerIsBetter: true,
		contenders: []contender{
			{"pxroute", "", run("pxroute")},
			{tlsGoLines, "", run("go")},
		},
		target: "pxroute ≤ 2 KiB per connection",
		check: func(res map[string]float64) (bool, string) {
			return res["pxroute"] <= 2048, fmt.Sprintf("%.0f bytes", res["pxroute"])
		},
	}
}

func tlsIdleRun(p *process, addr string, f tlsFiles, n int) (float64, error) {
	// One connection first, so first-use costs (the certificate parsed,
	// the handshake's code paged in) are in the baseline.
	warm, err := loadHelper("ready", 30*time.Second, "tls-idle-clients", addr, f.ca, tlsServerName, "1")
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
	clients, err := loadHelper("ready", 2*time.Minute, "tls-idle-clients", addr, f.ca, tlsServerName, strconv.Itoa(n))
	if err != nil {
		warm.stop()
		return 0, err
	}
	defer func() { clients.stop(); warm.stop() }()
	return p.rssPerConn(base, fds0, n)
}
