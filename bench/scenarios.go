package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// benchBridge: one TCP stream through a raw bridge to a sink that discards;
// MB/s arriving at the sink.
func benchBridge(cfg config, engine string) (result, error) {
	sink, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	defer sink.Close()
	var got atomic.Int64
	go func() {
		for {
			c, err := sink.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 256<<10)
				for {
					n, err := c.Read(buf)
					got.Add(int64(n))
					if err != nil {
						c.Close()
						return
					}
				}
			}()
		}
	}()
	addrs, err := freeAddrs(1)
	if err != nil {
		return result{}, err
	}
	r, err := startRouter(cfg, engine, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "%s", high_water: 4MiB}
  back:  {kind: tcp, connect: "%s", high_water: 4MiB}
routes:
  - {pattern: bridge, from: front, to: back}
`, addrs[0], sink.Addr()), 1, addrs[0])
	if err != nil {
		return result{}, err
	}
	defer r.stop()
	c, err := net.Dial("tcp", addrs[0])
	if err != nil {
		return result{}, err
	}
	defer c.Close()
	dur := 3 * time.Second
	if cfg.quick {
		dur = 500 * time.Millisecond
	}
	chunk := make([]byte, 256<<10)
	// Warm up, then measure what arrives during dur.
	stopAt := time.Now().Add(dur + 300*time.Millisecond)
	go func() {
		for time.Now().Before(stopAt) {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	start, n0, cpu0 := time.Now(), got.Load(), r.cpuSeconds()
	time.Sleep(dur)
	n1, cpu1 := got.Load(), r.cpuSeconds()
	return result{
		value: float64(n1-n0) / time.Since(start).Seconds() / 1e6,
		cpu:   (cpu1 - cpu0) / (float64(n1-n0) / 1e9),
	}, nil
}

// benchFanout: one publisher, 100 subscribers, 64-byte lines; delivered
// messages per second until every subscriber has every line (or the time
// limit, counting what arrived).
func benchFanout(cfg config, engine string) (result, error) {
	const subs = 100
	msgs := 100000
	if cfg.quick {
		msgs = 10000
	}
	addrs, err := freeAddrs(2)
	if err != nil {
		return result{}, err
	}
	r, err := startRouter(cfg, engine, fmt.Sprintf(`
endpoints:
  pub:  {kind: tcp, listen: "%s", framing: lines}
  subs: {kind: tcp, listen: "%s", framing: lines, high_water: 16MiB}
routes:
  - {pattern: fanout, from: pub, to: subs}
`, addrs[0], addrs[1]), 2, addrs...)
	if err != nil {
		return result{}, err
	}
	defer r.stop()
	var delivered atomic.Int64
	var wg sync.WaitGroup
	conns := make([]net.Conn, subs)
	for i := range conns {
		c, err := net.Dial("tcp", addrs[1])
		if err != nil {
			return result{}, err
		}
		defer c.Close()
		conns[i] = c
	}
	time.Sleep(200 * time.Millisecond) // every subscriber has joined
	deadline := time.Now().Add(60 * time.Second)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(deadline)
			buf := make([]byte, 256<<10)
			seen := 0
			for seen < msgs {
				n, err := c.Read(buf)
				k := bytes.Count(buf[:n], []byte{'\n'})
				seen += k
				delivered.Add(int64(k))
				if err != nil {
					return
				}
			}
		}()
	}
	line := bytes.Repeat([]byte("x"), 63)
	line = append(line, '\n')
	payload := bytes.Repeat(line, msgs)
	pub, err := net.Dial("tcp", addrs[0])
	if err != nil {
		return result{}, err
	}
	defer pub.Close()
	start, cpu0 := time.Now(), r.cpuSeconds()
	if _, err := pub.Write(payload); err != nil {
		return result{}, err
	}
	wg.Wait()
	d := float64(delivered.Load())
	return result{value: d / time.Since(start).Seconds(), cpu: (r.cpuSeconds() - cpu0) / (d / 1e6)}, nil
}

// benchIdle: 15,000 idle TCP connections held by a relay; the router's RSS
// growth per connection.
func benchIdle(cfg config, engine string) (result, error) {
	n := 15000
	if cfg.quick {
		n = 1000
	}
	addrs, err := freeAddrs(1)
	if err != nil {
		return result{}, err
	}
	r, err := startRouter(cfg, engine, fmt.Sprintf(`
endpoints:
  room: {kind: tcp, listen: "%s", framing: lines}
routes:
  - {pattern: relay, members: room}
`, addrs[0]), 2, addrs[0])
	if err != nil {
		return result{}, err
	}
	defer r.stop()
	// One message through the room first, so the first-use costs (buffers,
	// rings touched) are in the baseline, not charged to the idle ones.
	a, _ := net.Dial("tcp", addrs[0])
	b, _ := net.Dial("tcp", addrs[0])
	time.Sleep(100 * time.Millisecond)
	io.WriteString(a, "warm\n")
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(b).ReadString('\n'); err != nil {
		return result{}, fmt.Errorf("warm-up: %w", err)
	}
	time.Sleep(200 * time.Millisecond)
	base, err := r.rssBytes()
	if err != nil {
		return result{}, err
	}
	fds0 := r.openFDs()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		a.Close()
		b.Close()
	}()
	for range n {
		c, err := net.Dial("tcp", addrs[0])
		if err != nil {
			return result{}, fmt.Errorf("after %d connections: %w", len(conns), err)
		}
		conns = append(conns, c)
	}
	deadline := time.Now().Add(30 * time.Second)
	for r.openFDs() < fds0+n {
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("router holds %d fds, want %d", r.openFDs(), fds0+n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	rss, err := r.rssBytes()
	if err != nil {
		return result{}, err
	}
	return result{value: float64(rss-base) / float64(n)}, nil
}
