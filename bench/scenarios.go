package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func allScenarios() []scenario {
	out := []scenario{bridgeScenario()}
	for _, n := range []int{10, 100, 1000} {
		out = append(out, fanoutScenario(n))
	}
	return append(out, echoScenario(), idleScenario(), latencyScenario(), chatScenario(), fileScenario())
}

// dur is how long a timed measurement runs.
func (cfg config) dur(normal time.Duration) time.Duration {
	if cfg.quick {
		return normal / 5
	}
	return normal
}

// ratioAtLeast checks res["pxroute"] >= want × res[peer] for each peer.
func ratioAtLeast(want float64, peers ...string) func(map[string]float64) (bool, string) {
	return func(res map[string]float64) (bool, string) {
		met := true
		var how []string
		for _, p := range peers {
			v, ok := res[p]
			if !ok {
				how = append(how, p+" not measured")
				met = false
				continue
			}
			if v == 0 {
				how = append(how, p+" delivered nothing")
				continue
			}
			r := res["pxroute"] / v
			how = append(how, fmt.Sprintf("%.2f× %s", r, p))
			if r < want {
				met = false
			}
		}
		return met, joinComma(how)
	}
}

func joinComma(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(x)
	}
	return b.String()
}

// ---- 1. bridge throughput with iperf3 ----

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

const fanoutPayload = 64

// fanoutClient speaks one pub/sub protocol: how a subscriber subscribes
// and how many messages a byte stream holds, how a publisher frames.
type fanoutClient struct {
	subscribe func(c net.Conn) error
	count     func(newlines int) int // messages in so many received newlines
	skip      int                    // newlines of the subscription's reply
	publish   []byte                 // one message as the publisher sends it
	drain     bool                   // the publisher gets replies to read
}

func fanoutScenario(n int) scenario {
	payload := bytes.Repeat([]byte("x"), fanoutPayload-2)
	lines := fanoutClient{
		subscribe: func(net.Conn) error { return nil },
		count:     func(nl int) int { return nl },
		publish:   append(append([]byte{}, payload...), '\r', '\n'),
	}
	nats := fanoutClient{
		subscribe: func(c net.Conn) error {
			_, err := io.WriteString(c, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB t 1\r\n")
			return err
		},
		count:   func(nl int) int { return nl / 2 }, // MSG t 1 64\r\n payload\r\n
		skip:    1,                                  // INFO
		publish: []byte(fmt.Sprintf("PUB t %d\r\n%s\r\n", fanoutPayload, bytes.Repeat([]byte("x"), fanoutPayload))),
	}
	redis := fanoutClient{
		subscribe: func(c net.Conn) error { _, err := io.WriteString(c, "SUBSCRIBE t\r\n"); return err },
		count:     func(nl int) int { return nl / 7 }, // *3 $7 message $1 t $64 payload
		skip:      6,
		publish:   []byte(fmt.Sprintf("PUBLISH t %s\r\n", bytes.Repeat([]byte("x"), fanoutPayload))),
		drain:     true,
	}
	run := func(kind string) func(cfg config) (float64, error) {
		return func(cfg config) (float64, error) {
			addrs, err := freeAddrs(2)
			if err != nil {
				return 0, err
			}
			pubAddr, subAddr, proto := addrs[0], addrs[1], lines
			var p *process
			switch kind {
			case "pxroute":
				p, err = startRouter(cfg, fmt.Sprintf(`
endpoints:
  pub:  {kind: tcp, listen: "%s", framing: lines}
  subs: {kind: tcp, listen: "%s", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: subs}
`, pubAddr, subAddr), 2, pubAddr, subAddr)
			case "nats-server":
				subAddr, proto = pubAddr, nats
				p, err = spawn("nats-server", []string{"-a", "127.0.0.1", "-p", port(pubAddr)}, pubAddr)
			case "redis-server":
				subAddr, proto = pubAddr, redis
				p, err = spawn("redis-server", []string{"--bind", "127.0.0.1", "--port", port(pubAddr), "--save", "", "--appendonly", "no", "--protected-mode", "no"}, pubAddr)
			case "ncat --broker":
				subAddr = pubAddr
				p, err = spawn("ncat", []string{"--broker", "-k", "-m", "2000", "-l", "127.0.0.1", port(pubAddr)}, pubAddr)
			}
			if err != nil {
				return 0, err
			}
			defer p.stop()
			return fanoutRun(cfg, n, pubAddr, subAddr, proto)
		}
	}
	return scenario{
		name: fmt.Sprintf("fanout-%d", n), title: fmt.Sprintf("Fan-out: 1 publisher, %d subscribers, 64-byte messages", n),
		unit: "messages/s delivered",
		contenders: []contender{
			{"pxroute", "", run("pxroute")},
			{"nats-server", "nats-server", run("nats-server")},
			{"redis-server", "redis-server", run("redis-server")},
			{"ncat --broker", "ncat", run("ncat --broker")},
		},
		target: "pxroute ≥ 3 × nats-server and redis-server, ≥ 1 × ncat --broker",
		check: func(res map[string]float64) (bool, string) {
			a, how1 := ratioAtLeast(3, "nats-server", "redis-server")(res)
			b, how2 := ratioAtLeast(1, "ncat --broker")(res)
			return a && b, how1 + ", " + how2
		},
	}
}

// fanoutRun connects n subscribers, then publishes as fast as the server
// takes it for the measured time, and counts what the subscribers got.
func fanoutRun(cfg config, n int, pubAddr, subAddr string, proto fanoutClient) (float64, error) {
	var got atomic.Int64
	var wg sync.WaitGroup
	subs := make([]net.Conn, n)
	for i := range subs {
		c, err := dialRetry(subAddr)
		if err != nil {
			return 0, fmt.Errorf("subscriber %d: %w", i, err)
		}
		defer c.Close()
		if err := proto.subscribe(c); err != nil {
			return 0, err
		}
		subs[i] = c
	}
	time.Sleep(300 * time.Millisecond) // every subscription in place
	for _, c := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 128<<10)
			nl, counted := 0, 0
			for {
				k, err := c.Read(buf)
				nl += bytes.Count(buf[:k], []byte{'\n'})
				if m := proto.count(max(0, nl-proto.skip)); m > counted {
					got.Add(int64(m - counted))
					counted = m
				}
				if err != nil {
					return
				}
			}
		}()
	}
	pub, err := net.Dial("tcp", pubAddr)
	if err != nil {
		return 0, err
	}
	defer pub.Close()
	if proto.skip == 1 { // NATS: CONNECT first
		io.WriteString(pub, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n")
	}
	if proto.drain {
		go io.Copy(io.Discard, pub)
	}
	batch := bytes.Repeat(proto.publish, 1024)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			pub.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := pub.Write(batch); err != nil && !os.IsTimeout(err) {
				return
			}
		}
	}()
	return deliveryRate(cfg, &got, stop, subs, &wg), nil
}

// deliveryRate lets the clients warm up for a second, counts what got
// grows by over the measured 3 seconds, then stops the clients (closing
// stop and conns, waiting for wg) and returns the rate per second.
func deliveryRate(cfg config, got *atomic.Int64, stop chan struct{}, conns []net.Conn, wg *sync.WaitGroup) float64 {
	time.Sleep(cfg.dur(time.Second)) // warm up
	g0, t0 := got.Load(), time.Now()
	time.Sleep(cfg.dur(3 * time.Second))
	g1, t1 := got.Load(), time.Now()
	close(stop)
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	if g1 == g0 {
		fmt.Fprintln(os.Stderr, "    (nothing was delivered while measuring: the server stalled)")
	}
	return float64(g1-g0) / t1.Sub(t0).Seconds()
}

// ---- 3. 100 MB framed echo ----

// The echo's contenders: every server but the last answers whole frames,
// as in the discussion the benchmark comes from. The last copies bytes
// back as they come (io.Copy splices them), knowing nothing of frames: a
// ceiling no framed server reaches, shown for reference.
const (
	goFramed = "Go net framed (goroutine per conn)"
	goRaw    = "Go io.Copy, not framed (reference)"
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

// dialRetry connects to addr, trying again for a while if refused: some
// peers (ncat) refuse while a burst of connections is being accepted.
func dialRetry(addr string) (net.Conn, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			return c, err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// peerScript is the path of a script in bench/peers, found from this
// source file so that it works from any directory (go run, go test).
func peerScript(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "peers", name)
}

// ---- 4. idle connections ----

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
	deadline := time.Now().Add(30 * time.Second)
	for p.openFDs() < fds0+n {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the server holds %d fds, want %d", p.openFDs(), fds0+n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	rss, err := p.rssBytes()
	if err != nil {
		return 0, err
	}
	return float64(rss-base) / float64(n), nil
}

// ---- 5. latency ----

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
