package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"time"
)

func echoScenario() scenario {
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
  e: {kind: tcp, listen: "%s", framing: length-prefix, max_frame: 128MiB, high_water: 4MiB}
routes:
  - {pattern: echo, members: e}
`, addrs[0]), 2, addrs[0])
			case goFramed:
				p, err = helper("frames", addrs[0])
			case goRaw:
				p, err = helper("echo", addrs[0])
			default: // python flavours: "asyncio Protocol" and so on
				var flavour, proto string
				fmt.Sscanf(kind, "%s %s", &flavour, &proto)
				script := peerScript("echo.py")
				pr := map[string]string{"Protocol": "protocol", "BufferedProtocol": "buffered"}[proto]
				p, err = spawn("/usr/bin/python3", []string{script, port(addrs[0]), flavour, pr}, addrs[0])
			}
			if err != nil {
				return 0, err
			}
			defer p.stop()
			return echoRun(cfg, addrs[0])
		}
	}
	py := func(name string) contender {
		c := contender{name: name, need: "/usr/bin/python3", run: run(name)}
		return c
	}
	return scenario{
		name: "echo-100MB", title: "100 MB framed echo: 8-byte length + 100,000,000 bytes, 5 round trips, a new connection each",
		unit: "MB/s one way",
		contenders: []contender{
			{"pxroute", "", run("pxroute")},
			{goFramed, "", run(goFramed)},
			py("asyncio Protocol"), py("asyncio BufferedProtocol"),
			py("uvloop Protocol"), py("uvloop BufferedProtocol"),
			{goRaw, "", run(goRaw)},
		},
		target: "pxroute ≥ 2 × the Go net framed echo server", check: ratioAtLeast(2, goFramed),
	}
}

// echoRun sends a frame of 100,000,000 bytes (less in a quick run) and
// reads it back whole, 5 times on fresh connections; MB/s one way.
func echoRun(cfg config, addr string) (float64, error) {
	size := 100_000_000
	if cfg.quick {
		size = 10_000_000
	}
	frame := make([]byte, 8+size)
	binary.LittleEndian.PutUint64(frame, uint64(size))
	for i := 8; i < len(frame); i += 4096 {
		frame[i] = byte(i >> 12)
	}
	back := make([]byte, len(frame))
	start := time.Now()
	for range 5 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return 0, err
		}
		c.SetDeadline(time.Now().Add(60 * time.Second))
		werr := make(chan error, 1)
		go func() { _, err := c.Write(frame); werr <- err }()
		if _, err := io.ReadFull(c, back); err != nil {
			c.Close()
			return 0, fmt.Errorf("reading the echo: %w", err)
		}
		if err := <-werr; err != nil {
			c.Close()
			return 0, err
		}
		c.Close()
		if !bytes.Equal(back, frame) {
			return 0, fmt.Errorf("the echo differs from what was sent")
		}
	}
	return 5 * float64(size) / time.Since(start).Seconds() / 1e6, nil
}

// peerScript is the path of a script in bench/peers, found from this
// source file so that it works from any directory (go run, go test).
func peerScript(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "peers", name)
}

// ---- 4. idle connections ----
