package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func chatScenario() scenario {
	run := func(kind string) func(cfg config) (float64, error) {
		return func(cfg config) (float64, error) {
			addrs, err := freeAddrs(1)
			if err != nil {
				return 0, err
			}
			var p *process
			switch kind {
			case "pxroute":
				p, err = startRouter(cfg, fmt.Sprintf(`
endpoints:
  chat: {kind: tcp, listen: "%s", framing: lines}
routes:
  - {pattern: relay, members: chat}
`, addrs[0]), 2, addrs[0])
			case "ncat --chat":
				p, err = spawn("ncat", []string{"--chat", "-k", "-m", "1000", "-l", "127.0.0.1", port(addrs[0])}, addrs[0])
			case "ncat --broker":
				p, err = spawn("ncat", []string{"--broker", "-k", "-m", "2000", "-l", "127.0.0.1", port(addrs[0])}, addrs[0])
			}
			if err != nil {
				return 0, err
			}
			defer p.stop()
			return chatRun(cfg, addrs[0])
		}
	}
	return scenario{
		name: "chat", title: "Chat relay: 100 clients all sending 64-byte lines, everyone else receiving", unit: "messages/s delivered",
		contenders: []contender{
			{"pxroute", "", run("pxroute")},
			{"ncat --chat", "ncat", run("ncat --chat")},
			{"ncat --broker", "ncat", run("ncat --broker")},
		},
		target: "reported against ncat --chat and --broker (no ratio set)",
	}
}

func chatRun(cfg config, addr string) (float64, error) {
	const clients = 100
	var got atomic.Int64
	var wg sync.WaitGroup
	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := dialRetry(addr)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		conns[i] = c
	}
	time.Sleep(300 * time.Millisecond)
	stop := make(chan struct{})
	line := append(bytes.Repeat([]byte("c"), 63), '\n')
	batch := bytes.Repeat(line, 64)
	for _, c := range conns {
		wg.Add(2)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			for {
				k, err := c.Read(buf)
				got.Add(int64(bytes.Count(buf[:k], []byte{'\n'})))
				if err != nil {
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
				if _, err := c.Write(batch); err != nil && !os.IsTimeout(err) {
					return
				}
				time.Sleep(time.Millisecond) // many clients, each at a human-ish pace per batch
			}
		}()
	}
	return deliveryRate(cfg, &got, stop, conns, &wg), nil
}

// ---- 7. file to socket ----
