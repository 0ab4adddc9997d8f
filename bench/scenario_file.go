package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

func fileScenario() scenario {
	var once sync.Once
	var path string
	var size int64
	prepare := func(cfg config) error {
		var err error
		once.Do(func() {
			size = 1 << 30
			if cfg.quick {
				size = 64 << 20
			}
			path = filepath.Join(cfg.dir, "file.bin")
			var f *os.File
			if f, err = os.Create(path); err != nil {
				return
			}
			defer f.Close()
			chunk := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
			for w := int64(0); w < size; w += int64(len(chunk)) {
				if _, err = f.Write(chunk); err != nil {
					return
				}
			}
		})
		return err
	}
	run := func(kind string) func(cfg config) (float64, error) {
		return func(cfg config) (float64, error) {
			if err := prepare(cfg); err != nil {
				return 0, err
			}
			sink, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return 0, err
			}
			defer sink.Close()
			// The sink times the stream itself, from its connection to
			// the end of the file: not how long a process takes to start.
			type copied struct {
				n    int64
				took time.Duration
			}
			got := make(chan copied, 1)
			go func() {
				c, err := sink.Accept()
				if err != nil {
					got <- copied{n: -1}
					return
				}
				defer c.Close()
				start := time.Now()
				n, _ := io.CopyBuffer(io.Discard, c, make([]byte, 1<<20))
				got <- copied{n, time.Since(start)}
			}()
			var p *process
			if kind == "pxroute" {
				p, err = startRouter(cfg, fmt.Sprintf(`
endpoints:
  file: {kind: file, path: "%s"}
  sink: {kind: tcp, connect: "%s"}
routes:
  - {pattern: forward, from: file, to: sink}
`, path, sink.Addr()), 1)
			} else {
				p, err = helper("sendfile", path, sink.Addr().String())
			}
			if err != nil {
				return 0, err
			}
			defer p.stop()
			var res copied
			select {
			case res = <-got:
			case <-time.After(120 * time.Second):
				return 0, fmt.Errorf("the copy did not finish")
			}
			if res.n != size {
				return 0, fmt.Errorf("the sink got %d bytes of %d", res.n, size)
			}
			return float64(size) / res.took.Seconds() / 1e6, nil
		}
	}
	return scenario{
		name: "file", title: "File to socket: a 1 GiB file streamed to a TCP sink", unit: "MB/s", repsScale: 3,
		contenders: []contender{
			{"pxroute", "", run("pxroute")},
			{"Go io.Copy (sendfile)", "", run("sendfile")},
		},
		target: "pxroute ≥ 0.9 × a plain sendfile copy", check: ratioAtLeast(0.9, "Go io.Copy (sendfile)"),
	}
}
