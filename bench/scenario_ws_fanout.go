package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

const natsWS = "nats-server (websocket listener)"

// wsFanoutScenario is issue 22's benchmark: one publisher over plain TCP,
// n WebSocket subscribers, 64-byte messages; pxroute (a lines listener
// fanned out to a websocket listener) against nats-server's own
// websocket listener (Debian's nats-server binary, a config file with
// websocket { no_tls: true }). The subscribers are the same client for
// both (scenario_ws_client.go), in one helper process per core.
func wsFanoutScenario(n int) scenario {
	subCPU, pubCPU, offered, drops, lost := &perRun{}, &perRun{}, &perRun{}, &perRun{}, &perRun{}
	run := func(kind string) func(cfg config) (float64, error) {
		return func(cfg config) (float64, error) {
			r, err := wsFanoutRun(cfg, kind, n)
			if err != nil {
				return 0, err
			}
			name := "pxroute"
			if kind == "nats" {
				name = natsWS
			} else if cfg.baseline != "" {
				name = cfg.baseline
			}
			subCPU.add(name, r.subCores)
			pubCPU.add(name, r.pubCores)
			offered.add(name, r.offered)
			lost.add(name, float64(r.lost))
			if kind == "pxroute" {
				drops.add(name, r.dropPct)
			}
			return r.delivered, nil
		}
	}
	return scenario{
		name:  fmt.Sprintf("ws-fanout-%d", n),
		title: fmt.Sprintf("WebSocket fan-out: 1 publisher (TCP), %d WebSocket subscribers, 64-byte messages", n),
		unit:  "messages/s delivered",
		contenders: []contender{
			{"pxroute", "", run("pxroute")},
			{natsWS, "nats-server", run("nats")},
		},
		target: "pxroute ≥ 3 × nats-server's websocket listener",
		check:  ratioAtLeast(3, natsWS),
		footer: func() string {
			return perRunTable("The load generator, per run (medians, min–max): the subscriber processes' CPU and the publisher's (the benchmark process) over the measured seconds, in cores; the messages per second the publisher got the server to take (each is owed to every subscriber); pxroute's drops at the subscribers' endpoint (Stats `drops`, every reason: `hwm` is a subscriber past its 256 KiB mark under the fan-out's drop-newest policy), as a share of what it offered them over the run; subscriber connections the server closed during the run.",
				[]string{"subscribers' CPU, cores", "publisher's CPU, cores", "published messages/s taken", "pxroute drops, % of offered", "subscribers lost"},
				subCPU, pubCPU, offered, drops, lost)
		},
	}
}

// wsFanoutResult is one run's figures.
type wsFanoutResult struct {
	delivered, subCores, pubCores, offered, dropPct float64
	lost                                            int
}

func wsFanoutRun(cfg config, kind string, n int) (wsFanoutResult, error) {
	var res wsFanoutResult
	addrs, err := freeAddrs(3)
	if err != nil {
		return res, err
	}
	pubAddr, wsAddr, adminAddr := addrs[0], addrs[1], addrs[2]
	path, proto, publish := "/feed", wsPlain, append(bytes.Repeat([]byte("x"), fanoutPayload), '\n')
	var p *process
	if kind == "pxroute" {
		p, err = startRouterAdmin(cfg, adminAddr, fmt.Sprintf(`
endpoints:
  pub:  {kind: tcp, listen: "%s", framing: lines}
  subs: {kind: tcp, listen: "%s", framing: websocket, path: %s, message: binary}
routes:
  - {pattern: fanout, from: pub, to: subs}
`, pubAddr, wsAddr, path), 2, pubAddr, wsAddr)
	} else {
		path, proto = "/", wsNATS
		publish = []byte(fmt.Sprintf("PUB t %d\r\n%s\r\n", fanoutPayload, bytes.Repeat([]byte("x"), fanoutPayload)))
		p, err = startNATSWebSocket(cfg, pubAddr, wsAddr)
	}
	if err != nil {
		return res, err
	}
	defer p.stop()

	warm, meas := cfg.dur(time.Second), cfg.dur(3*time.Second)
	procs := min(runtime.NumCPU(), n)
	subs := make([]*wsSubProcess, 0, procs)
	defer func() {
		for _, s := range subs {
			s.stop()
		}
	}()
	for i := range procs {
		share := n/procs + btoi(i < n%procs)
		s, err := startWSSubs(wsAddr, path, proto, share, warm, meas)
		if err != nil {
			return res, err
		}
		subs = append(subs, s)
	}

	pub, err := net.Dial("tcp", pubAddr)
	if err != nil {
		return res, err
	}
	defer pub.Close()
	if kind == "nats" {
		io.WriteString(pub, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n")
	}
	var written atomic.Int64
	stop := make(chan struct{})
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		// 64 messages a write: small enough that a server taking
		// only thousands a second still shows in the count each second.
		flood(pub, bytes.Repeat(publish, 64), stop, &written)
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		pub.Close()
		<-pubDone
	}()

	for _, s := range subs {
		if _, err := io.WriteString(s.stdin, "go\n"); err != nil {
			return res, err
		}
	}
	time.Sleep(warm)
	w0, c0, t0 := written.Load(), selfCPU(), time.Now()
	time.Sleep(meas)
	w1, c1, t1 := written.Load(), selfCPU(), time.Now()
	res.offered = float64(w1-w0) / float64(len(publish)) / t1.Sub(t0).Seconds()
	res.pubCores = (c1 - c0) / t1.Sub(t0).Seconds() // this process: the publisher, little else

	var cpu float64
	for _, s := range subs {
		got, secs, c, lost, err := s.result(warm + meas + 30*time.Second)
		if err != nil {
			return res, err
		}
		res.delivered += got / secs
		cpu += c / secs
		res.lost += lost
	}
	res.subCores = cpu
	close(stop)
	<-pubDone
	if kind == "pxroute" {
		e, err := endpointStats(adminAddr, "subs")
		if err != nil {
			return res, err
		}
		var dropped uint64
		for _, v := range e.Drops {
			dropped += v
		}
		if e.Offered > 0 {
			res.dropPct = 100 * float64(dropped) / float64(e.Offered)
		}
		fmt.Fprintf(os.Stderr, "    pxroute subs endpoint: offered %d = delivered %d + drops %d %v + queued %d\n", e.Offered, e.MsgsOut, dropped, nonZero(e.Drops), e.QueuedMsgs)
	}
	if res.delivered == 0 {
		return res, fmt.Errorf("nothing was delivered while measuring: the server stalled")
	}
	return res, nil
}

// startRouterAdmin is startRouter with the admin endpoint on, so that a
// run can read pxroute's Stats (its drops) before stopping it.
func startRouterAdmin(cfg config, admin, topology string, loops int, ready ...string) (*process, error) {
	path := filepath.Join(cfg.dir, fmt.Sprintf("topology-%d.yaml", time.Now().UnixNano()))
	if err := os.WriteFile(path, []byte(topology), 0o644); err != nil {
		return nil, err
	}
	args := []string{"run", path, "--engine", cfg.engine, "--loops", strconv.Itoa(loops), "--log-level", "warn", "--admin", admin}
	if cfg.profileDir != "" {
		args = append(args, "--cpuprofile", filepath.Join(cfg.profileDir, fmt.Sprintf("pxroute-%d.prof", time.Now().UnixNano())))
	}
	return spawn(cfg.bin, args, append(ready, admin)...)
}

// startNATSWebSocket runs nats-server with its client port on natsAddr
// and its websocket listener, without TLS, on wsAddr.
func startNATSWebSocket(cfg config, natsAddr, wsAddr string) (*process, error) {
	conf := filepath.Join(cfg.dir, fmt.Sprintf("nats-ws-%d.conf", time.Now().UnixNano()))
	text := fmt.Sprintf("listen: %q\nwebsocket {\n  listen: %q\n  no_tls: true\n}\n", natsAddr, wsAddr)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}
	return spawn("nats-server", []string{"-c", conf}, natsAddr, wsAddr)
}

// wsEndpointStats is what a run reads of one endpoint in pxroute's /stats.
type wsEndpointStats struct {
	Name       string            `json:"name"`
	Offered    uint64            `json:"offered"`
	MsgsOut    uint64            `json:"msgs_out"`
	Drops      map[string]uint64 `json:"drops"`
	QueuedMsgs int64             `json:"queued_msgs"`
}

func endpointStats(admin, name string) (wsEndpointStats, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + admin + "/stats")
	if err != nil {
		return wsEndpointStats{}, err
	}
	defer resp.Body.Close()
	var st struct {
		Endpoints []wsEndpointStats `json:"endpoints"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return wsEndpointStats{}, fmt.Errorf("pxroute /stats: %w", err)
	}
	for _, e := range st.Endpoints {
		if e.Name == name {
			return e, nil
		}
	}
	return wsEndpointStats{}, fmt.Errorf("pxroute /stats: no endpoint %q", name)
}

// wsSubProcess is one ws-subs helper: told to go on stdin, it answers
// RECEIVED on stdout.
type wsSubProcess struct {
	p     *process
	stdin io.WriteCloser
	lines chan string
}

func startWSSubs(addr, path string, proto wsProto, n int, warm, meas time.Duration) (*wsSubProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-helper", "ws-subs", addr, path, string(proto), strconv.Itoa(n), warm.String(), meas.String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &wsSubProcess{p: &process{cmd: cmd, shared: true}, stdin: stdin, lines: make(chan string, 2)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.lines <- strings.TrimSpace(sc.Text())
		}
		close(s.lines)
	}()
	if l, err := s.line(2 * time.Minute); err != nil || l != "ready" {
		s.stop()
		return nil, fmt.Errorf("ws-subs: said %q, not ready (%v; its stderr says why)", l, err)
	}
	return s, nil
}

func (s *wsSubProcess) line(wait time.Duration) (string, error) {
	select {
	case l, ok := <-s.lines:
		if !ok {
			return "", fmt.Errorf("it ended")
		}
		return l, nil
	case <-time.After(wait):
		return "", fmt.Errorf("nothing after %v", wait)
	}
}

// result is the helper's count: messages, over seconds, its CPU seconds,
// connections lost.
func (s *wsSubProcess) result(wait time.Duration) (got, secs, cpu float64, lost int, err error) {
	l, err := s.line(wait)
	if err != nil {
		return 0, 0, 0, 0, fmt.Errorf("ws-subs: %w", err)
	}
	if _, err := fmt.Sscanf(l, "RECEIVED %g %g %g %d", &got, &secs, &cpu, &lost); err != nil || secs <= 0 {
		return 0, 0, 0, 0, fmt.Errorf("ws-subs said %q", l)
	}
	return got, secs, cpu, lost, nil
}

func (s *wsSubProcess) stop() {
	s.stdin.Close()
	s.p.stop()
}

// nonZero keeps the reasons that counted something.
func nonZero(m map[string]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for k, v := range m {
		if v > 0 {
			out[k] = v
		}
	}
	return out
}
