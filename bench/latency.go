package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The -latency mode: ping-pong round trips, one message in flight, of
// 64 B, 1 KiB and 64 KiB, through each path a user could put between a
// client and its server. Every path runs once per repetition, the paths
// interleaved; each percentile is the median of the repetitions' own.
//
//	go run ./bench -latency            # every path, 5 repetitions
//	go run ./bench -latency -reps 9 bridge

// latencySizes are the message sizes measured.
var latencySizes = []int{64, 1024, 64 << 10}

// latencyPath is one way a message and its answer travel: start returns
// the address the client dials and a stop for what it started.
type latencyPath struct {
	group string // the table it belongs to: bridge (raw bytes) or frames
	name  string
	need  string // a peer program; "" for none
	start func(cfg config) (addr string, stop func(), err error)
}

// latencyPaths lists the paths, in report order. Raw paths echo bytes
// (the Go echo server splices them back); framed paths carry 8-byte
// little-endian length-prefixed frames.
func latencyPaths() []latencyPath {
	var out []latencyPath
	raw := func(name, need string, via func(cfg config, front, back string) (*process, error)) {
		out = append(out, latencyPath{"bridge", name, need, func(cfg config) (string, func(), error) {
			return behind(cfg, "echo", via)
		}})
	}
	raw("direct (no relay)", "", nil)
	for _, engine := range []string{"io_uring", "epoll"} {
		for _, poll := range []string{"", "50us"} {
			name, setting := "pxroute bridge, "+engine, ""
			if poll != "" {
				name, setting = name+", busy_poll "+poll, "busy_poll: "+poll+"\n"
			}
			raw(name, "", func(cfg config, front, back string) (*process, error) {
				cfg.engine = engine
				return startRouter(cfg, fmt.Sprintf(`%s
endpoints:
  front: {kind: tcp, listen: "%s"}
  back:  {kind: tcp, connect: "%s"}
routes:
  - {pattern: bridge, from: front, to: back}
`, setting, front, back), 2, front)
			})
		}
	}
	raw("socat", "socat", func(cfg config, front, back string) (*process, error) {
		return spawn("socat", []string{"TCP-LISTEN:" + port(front) + ",bind=127.0.0.1,fork,reuseaddr,nodelay", "TCP:" + back + ",nodelay"}, front)
	})
	raw("Go io.Copy relay", "", func(cfg config, front, back string) (*process, error) {
		return helper("relay", front, back)
	})
	out = append(out, latencyPath{"frames", "direct (Go frame echo server)", "", func(cfg config) (string, func(), error) {
		return behind(cfg, "frames", nil)
	}})
	for _, engine := range []string{"io_uring", "epoll"} {
		engine := engine
		out = append(out, latencyPath{"frames", "pxroute echo, " + engine, "", func(cfg config) (string, func(), error) {
			addrs, err := freeAddrs(1)
			if err != nil {
				return "", nil, err
			}
			cfg.engine = engine
			r, err := startRouter(cfg, fmt.Sprintf(`
endpoints:
  e: {kind: tcp, listen: "%s", framing: length-prefix, max_frame: 1MiB}
routes:
  - {pattern: echo, members: e}
`, addrs[0]), 2, addrs[0])
			if err != nil {
				return "", nil, err
			}
			return addrs[0], r.stop, nil
		}})
		out = append(out, latencyPath{"frames", "pxroute request, " + engine, "", func(cfg config) (string, func(), error) {
			return requestPath(cfg, engine)
		}})
	}
	return out
}

// behind starts the echo helper role and, unless via is nil, a relay in
// front of it.
func behind(cfg config, role string, via func(cfg config, front, back string) (*process, error)) (string, func(), error) {
	addrs, err := freeAddrs(2)
	if err != nil {
		return "", nil, err
	}
	echo, err := helper(role, addrs[0])
	if err != nil {
		return "", nil, err
	}
	if via == nil {
		return addrs[0], echo.stop, nil
	}
	r, err := via(cfg, addrs[1], addrs[0])
	if err != nil {
		echo.stop()
		return "", nil, err
	}
	return addrs[1], func() { r.stop(); echo.stop() }, nil
}

// requestPath runs pxroute's request pattern with one worker, a helper
// process that connects to the workers' listener and echoes frames.
func requestPath(cfg config, engine string) (string, func(), error) {
	addrs, err := freeAddrs(2)
	if err != nil {
		return "", nil, err
	}
	cfg.engine = engine
	r, err := startRouter(cfg, fmt.Sprintf(`
endpoints:
  clients: {kind: tcp, listen: "%s", framing: length-prefix, max_frame: 1MiB}
  workers: {kind: tcp, listen: "%s", framing: length-prefix, max_frame: 1MiB}
routes:
  - {pattern: request, from: clients, to: workers}
`, addrs[0], addrs[1]), 2, addrs[0], addrs[1])
	if err != nil {
		return "", nil, err
	}
	w, err := helper("frames-worker", addrs[1])
	if err != nil {
		r.stop()
		return "", nil, err
	}
	// The worker's connection must have joined before the first request,
	// which would otherwise find no worker (no_route) and never be
	// answered: wait until pxroute has accepted it, and a moment more
	// for its loop to take it.
	if err := waitEstablished(addrs[1]); err != nil {
		w.stop()
		r.stop()
		return "", nil, err
	}
	time.Sleep(50 * time.Millisecond)
	return addrs[0], func() { w.stop(); r.stop() }, nil
}

// latencyResult is one path's figures at one size: per repetition, the
// p50, p99 and p999 in µs, and every sample (for the histogram).
type latencyResult struct {
	p50, p99, p999 []float64
	samples        []float64
}

// runLatency runs every wanted path reps times, interleaved, and prints
// (and returns) a markdown section with tables and histograms.
func runLatency(cfg config, reps int, want map[string]bool) (string, error) {
	paths := latencyPaths()
	res := map[string]map[int]*latencyResult{}
	for r := 0; r < reps; r++ {
		for _, p := range paths {
			if len(want) > 0 && !want[p.group] {
				continue
			}
			if p.need != "" {
				if _, err := exec.LookPath(p.need); err != nil {
					continue
				}
			}
			addr, stop, err := p.start(cfg)
			if err != nil {
				return "", fmt.Errorf("%s: %w", p.name, err)
			}
			for _, size := range latencySizes {
				lat, err := roundTrips(cfg, addr, size, p.group == "frames")
				if err != nil {
					stop()
					return "", fmt.Errorf("%s, %d B: %w", p.name, size, err)
				}
				if res[p.name] == nil {
					res[p.name] = map[int]*latencyResult{}
				}
				lr := res[p.name][size]
				if lr == nil {
					lr = &latencyResult{}
					res[p.name][size] = lr
				}
				lr.p50 = append(lr.p50, quantile(lat, 0.50))
				lr.p99 = append(lr.p99, quantile(lat, 0.99))
				lr.p999 = append(lr.p999, quantile(lat, 0.999))
				lr.samples = append(lr.samples, lat...)
				fmt.Fprintf(os.Stderr, "  %-34s rep %d %6d B: p50 %.1f p99 %.1f p999 %.1f µs\n", p.name, r+1, size,
					quantile(lat, 0.5), quantile(lat, 0.99), quantile(lat, 0.999))
			}
			stop()
		}
	}
	return latencyReport(paths, res, reps), nil
}

// roundTrips sends one message at a time and waits for all of it back;
// it returns the round trips in µs, sorted, after a warm-up.
func roundTrips(cfg config, addr string, size int, framed bool) ([]float64, error) {
	n := 5000
	if size > 4096 {
		n = 2000
	}
	if cfg.quick {
		n /= 10
	}
	return roundTripsN(addr, size, n, framed)
}

// roundTripsN is roundTrips of n messages.
func roundTripsN(addr string, size, n int, framed bool) ([]float64, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(120 * time.Second))
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = 'p'
	}
	if framed {
		msg = append(binary.LittleEndian.AppendUint64(nil, uint64(size)), msg...)
	}
	back := make([]byte, len(msg))
	const warm = 200
	lat := make([]float64, 0, n)
	for i := 0; i < n+warm; i++ {
		t := time.Now()
		if _, err := c.Write(msg); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(c, back); err != nil {
			return nil, err
		}
		if i >= warm {
			lat = append(lat, float64(time.Since(t).Nanoseconds())/1e3)
		}
		if (i == 0 || i == n+warm-1) && !bytes.Equal(back, msg) {
			return nil, fmt.Errorf("round trip %d: the answer differs from the message", i)
		}
	}
	sort.Float64s(lat)
	return lat, nil
}

// quantile of sorted v (nearest rank).
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	i := int(q*float64(len(v))+0.5) - 1
	return v[min(max(i, 0), len(v)-1)]
}

// latencyReport renders the figures: per group and size, a table of the
// median p50/p99/p999 with the ratio of each to the group's direct path,
// and a histogram of the 64-byte round trips of every path.
func latencyReport(paths []latencyPath, res map[string]map[int]*latencyResult, reps int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "`go run ./bench -latency -reps %d`: %d repetitions, paths interleaved; each figure is the median over the repetitions of that repetition's percentile, in µs; in brackets, the ratio to the direct path's same percentile.\n\n", reps, reps)
	for _, group := range []string{"bridge", "frames"} {
		direct := ""
		for _, p := range paths {
			if p.group == group && strings.HasPrefix(p.name, "direct") {
				direct = p.name
			}
		}
		for _, size := range latencySizes {
			fmt.Fprintf(&b, "| %s, %s | p50 | p99 | p999 |\n| --- | --- | --- | --- |\n", group, sizeText(size))
			for _, p := range paths {
				lr := res[p.name][size]
				if p.group != group || lr == nil {
					continue
				}
				d := res[direct][size]
				cell := func(v, dv []float64) string {
					if d == nil || p.name == direct {
						return format(median(v))
					}
					return fmt.Sprintf("%s (%.2f×)", format(median(v)), median(v)/median(dv))
				}
				var dp50, dp99, dp999 []float64
				if d != nil {
					dp50, dp99, dp999 = d.p50, d.p99, d.p999
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", p.name, cell(lr.p50, dp50), cell(lr.p99, dp99), cell(lr.p999, dp999))
			}
			b.WriteString("\n")
		}
		b.WriteString("Histogram of every 64 B round trip (all repetitions), log-spaced µs buckets, one `#` per 2% of a path's samples:\n\n```\n")
		for _, p := range paths {
			if lr := res[p.name][64]; p.group == group && lr != nil {
				b.WriteString(histogram(p.name, lr.samples))
			}
		}
		b.WriteString("```\n\n")
	}
	return b.String()
}

func sizeText(n int) string {
	if n >= 1024 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// histogram draws samples (µs) in buckets from 4 µs doubling by √2.
func histogram(name string, samples []float64) string {
	var edges []float64
	for e := 4.0; e < 3000; e *= 1.4142135 {
		edges = append(edges, e)
	}
	counts := make([]int, len(edges)+1)
	for _, s := range samples {
		i := sort.SearchFloat64s(edges, s)
		counts[i]++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d samples)\n", name, len(samples))
	for i, n := range counts {
		if n == 0 {
			continue
		}
		label := ""
		switch {
		case i == 0:
			label = fmt.Sprintf("< %.0f", edges[0])
		case i == len(edges):
			label = fmt.Sprintf(">= %.0f", edges[i-1])
		default:
			label = fmt.Sprintf("%.0f-%.0f", edges[i-1], edges[i])
		}
		pct := 100 * float64(n) / float64(len(samples))
		fmt.Fprintf(&b, "  %10s µs %5.1f%% %s\n", label, pct, strings.Repeat("#", int(pct/2+0.5)))
	}
	return b.String()
}

// waitEstablished waits until a connection to addr's port is established
// (state 01 in /proc/net/tcp, on the local side of the listener).
func waitEstablished(addr string) error {
	want := fmt.Sprintf(":%04X", mustPort(addr))
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, err := os.ReadFile("/proc/net/tcp")
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 3 && strings.HasSuffix(f[1], want) && f[3] == "01" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no connection to %s was established", addr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustPort(addr string) int {
	n, _ := strconv.Atoi(port(addr))
	return n
}
