package tests

// The nats-server process harness the NATS tests share: one server or a
// cluster of routed nodes on loopback ports, each started from a generated
// config, killed and restarted on demand, stopped at test end. Plus a small
// raw NATS client (CONNECT, SUB, PUB/HPUB, MSG/HMSG) so a test can see
// exactly what is on NATS, not what our own decoder thinks is there.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// natsServer is one nats-server process the test owns.
type natsServer struct {
	t      *testing.T
	Addr   string // client address, 127.0.0.1:port
	Route  string // cluster listen address ("" for a lone server)
	conf   string // config file path
	mu     sync.Mutex
	cmd    *exec.Cmd
	stderr *bytes.Buffer
}

// natsConfig is what a test may add to a server's generated config.
type natsConfig struct {
	Extra string // verbatim config lines (authorization, tls, max_payload...)
}

// requireNATSServer fails (never skips) when nats-server is not installed.
func requireNATSServer(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("nats-server")
	if err != nil {
		t.Fatalf("nats-server not found: install nats-server (bash bench/setup.sh): %v", err)
	}
	return p
}

// startNATS starts one nats-server on a free loopback port.
func startNATS(t *testing.T, cfg natsConfig) *natsServer {
	t.Helper()
	return startNATSCluster(t, 1, cfg)[0]
}

// startNATSCluster starts n nats-server nodes routed to each other (a full
// mesh of routes; n == 1 is a lone server) and waits until every node serves
// clients and, for a cluster, until the routes are up.
func startNATSCluster(t *testing.T, n int, cfg natsConfig) []*natsServer {
	t.Helper()
	requireNATSServer(t)
	dir := t.TempDir()
	nodes := make([]*natsServer, n)
	for i := range nodes {
		nodes[i] = &natsServer{t: t, Addr: freePort(t)}
		if n > 1 {
			nodes[i].Route = freePort(t)
		}
	}
	for i, s := range nodes {
		var b strings.Builder
		fmt.Fprintf(&b, "server_name: n%d\nlisten: %s\n", i, s.Addr)
		if n > 1 {
			var routes []string
			for j, o := range nodes {
				if j != i {
					routes = append(routes, "nats-route://"+o.Route)
				}
			}
			fmt.Fprintf(&b, "cluster {\n  name: pxtest\n  listen: %s\n  routes: [%s]\n}\n", s.Route, strings.Join(routes, ", "))
		}
		b.WriteString(cfg.Extra)
		b.WriteString("\n")
		s.conf = filepath.Join(dir, fmt.Sprintf("n%d.conf", i))
		writeFileAt(t, s.conf, b.String())
	}
	for _, s := range nodes {
		s.Start()
	}
	if n > 1 {
		for _, s := range nodes {
			s.waitRoutes(n - 1)
		}
	}
	t.Cleanup(func() {
		for _, s := range nodes {
			s.Kill()
		}
	})
	return nodes
}

// Start runs the node (again) from its config and waits until it serves.
func (s *natsServer) Start() {
	s.t.Helper()
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		s.t.Fatalf("nats-server %s already running", s.Addr)
	}
	cmd := exec.Command(requireNATSServer(s.t), "-c", s.conf)
	s.stderr = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = s.stderr, s.stderr
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		s.t.Fatalf("start nats-server: %v", err)
	}
	s.cmd = cmd
	s.mu.Unlock()
	deadline := time.Now().Add(ioTimeout)
	for {
		if _, err := readNATSInfo(s.Addr); err == nil {
			return
		} else if time.Now().After(deadline) {
			s.t.Fatalf("nats-server %s not ready: %v\n%s", s.Addr, err, s.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill stops the node at once (SIGKILL: a node dying, not a clean exit).
func (s *natsServer) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart kills the node and starts it again on the same ports.
func (s *natsServer) Restart() {
	s.t.Helper()
	s.Kill()
	s.Start()
}

// Log is what the node wrote so far.
func (s *natsServer) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stderr == nil {
		return ""
	}
	return s.stderr.String()
}

// URL is the node's client URL.
func (s *natsServer) URL() string { return "nats://" + s.Addr }

// waitRoutes waits until the node's INFO advertises the other nodes' client
// URLs: its routes are up and a subscription made on one node reaches all.
func (s *natsServer) waitRoutes(others int) {
	s.t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for {
		info, err := readNATSInfo(s.Addr)
		if err == nil && len(info.ConnectURLs) >= others+1 {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("nats-server %s: routes not up (info %+v, err %v)\n%s", s.Addr, info, err, s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// natsInfo is the part of a server's INFO the tests read.
type natsInfo struct {
	ServerName   string   `json:"server_name"`
	MaxPayload   int      `json:"max_payload"`
	Headers      bool     `json:"headers"`
	AuthRequired bool     `json:"auth_required"`
	TLSRequired  bool     `json:"tls_required"`
	ConnectURLs  []string `json:"connect_urls"`
}

// readNATSInfo dials addr and returns the INFO the server greets with.
func readNATSInfo(addr string) (natsInfo, error) {
	var info natsInfo
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return info, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return info, err
	}
	if !strings.HasPrefix(line, "INFO ") {
		return info, fmt.Errorf("greeting %q is no INFO", line)
	}
	err = json.Unmarshal([]byte(strings.TrimPrefix(strings.TrimSpace(line), "INFO ")), &info)
	return info, err
}

// natsClient is a minimal raw NATS client for tests: one goroutine reads
// the server's ops, answers PING, and queues MSG/HMSG for next.
type natsClient struct {
	t    *testing.T
	c    net.Conn
	wmu  sync.Mutex
	msgs chan natsMsg
	errs chan string // -ERR texts
	pong chan struct{}
	sid  int
}

// natsMsg is one message as the raw client read it off the wire.
type natsMsg struct {
	Subject string
	Reply   string
	Header  map[string]string // nil for a MSG without headers
	Payload []byte
}

// dialNATSClient connects to addr, sends CONNECT with the given extra fields
// (user, pass, auth_token...) and waits for the server to answer a PING.
func dialNATSClient(t *testing.T, addr string, connect map[string]any) *natsClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatalf("dial nats %s: %v", addr, err)
	}
	n := &natsClient{t: t, c: c, msgs: make(chan natsMsg, 1<<14), errs: make(chan string, 16), pong: make(chan struct{}, 16)}
	t.Cleanup(func() { c.Close() })
	br := bufio.NewReaderSize(c, 1<<16)
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "INFO ") {
		t.Fatalf("nats %s greeting %q: %v", addr, line, err)
	}
	_ = c.SetReadDeadline(time.Time{})
	fields := map[string]any{"verbose": false, "pedantic": false, "headers": true, "protocol": 1, "lang": "pxroute-test", "version": "0"}
	for k, v := range connect {
		fields[k] = v
	}
	js, _ := json.Marshal(fields)
	n.write("CONNECT " + string(js) + "\r\n")
	go n.read(br)
	n.Flush()
	return n
}

func (n *natsClient) write(s string) {
	n.wmu.Lock()
	defer n.wmu.Unlock()
	_ = n.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := n.c.Write([]byte(s)); err != nil {
		n.t.Errorf("nats client write: %v", err)
	}
}

// read runs until the connection closes.
func (n *natsClient) read(br *bufio.Reader) {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			close(n.msgs)
			return
		}
		line = strings.TrimRight(line, "\r\n")
		op, args, _ := strings.Cut(line, " ")
		switch strings.ToUpper(op) {
		case "PING":
			n.write("PONG\r\n")
		case "PONG":
			n.pong <- struct{}{}
		case "-ERR":
			select {
			case n.errs <- args:
			default:
			}
		case "MSG", "HMSG":
			f := strings.Fields(args)
			m := natsMsg{Subject: f[0]}
			hlen := 0
			if op == "HMSG" {
				hlen, _ = strconv.Atoi(f[len(f)-2])
			}
			total, _ := strconv.Atoi(f[len(f)-1])
			if (op == "MSG" && len(f) == 4) || (op == "HMSG" && len(f) == 5) {
				m.Reply = f[2]
			}
			body := make([]byte, total+2)
			if _, err := ioReadFull(br, body); err != nil {
				close(n.msgs)
				return
			}
			if hlen > 0 {
				m.Header = map[string]string{}
				for _, h := range strings.Split(string(body[:hlen]), "\r\n")[1:] {
					if k, v, ok := strings.Cut(h, ":"); ok {
						m.Header[k] = strings.TrimSpace(v)
					}
				}
			}
			m.Payload = body[hlen:total]
			n.msgs <- m
		}
	}
}

// Sub subscribes to subject (with queue group queue when not empty).
func (n *natsClient) Sub(subject, queue string) {
	n.sid++
	if queue != "" {
		n.write(fmt.Sprintf("SUB %s %s %d\r\n", subject, queue, n.sid))
	} else {
		n.write(fmt.Sprintf("SUB %s %d\r\n", subject, n.sid))
	}
	n.Flush()
}

// Pub publishes payload on subject without headers (a foreign publisher).
func (n *natsClient) Pub(subject string, payload []byte) {
	n.write(fmt.Sprintf("PUB %s %d\r\n%s\r\n", subject, len(payload), payload))
}

// HPub publishes payload on subject with the given headers.
func (n *natsClient) HPub(subject string, header map[string]string, payload []byte) {
	var h strings.Builder
	h.WriteString("NATS/1.0\r\n")
	for k, v := range header {
		fmt.Fprintf(&h, "%s: %s\r\n", k, v)
	}
	h.WriteString("\r\n")
	n.write(fmt.Sprintf("HPUB %s %d %d\r\n%s%s\r\n", subject, h.Len(), h.Len()+len(payload), h.String(), payload))
}

// Flush waits until the server has processed everything sent so far.
func (n *natsClient) Flush() {
	n.t.Helper()
	n.write("PING\r\n")
	select {
	case <-n.pong:
	case e := <-n.errs:
		n.t.Fatalf("nats client: -ERR %s", e)
	case <-timeoutC():
		n.t.Fatal("nats client: no PONG")
	}
}

// Next returns the next message, failing the test after ioTimeout.
func (n *natsClient) Next() natsMsg {
	n.t.Helper()
	select {
	case m, ok := <-n.msgs:
		if !ok {
			n.t.Fatal("nats client: connection closed")
		}
		return m
	case <-timeoutC():
		n.t.Fatal("nats client: no message")
	}
	return natsMsg{}
}

// None fails the test if a message arrives within d.
func (n *natsClient) None(d time.Duration) {
	n.t.Helper()
	select {
	case m := <-n.msgs:
		n.t.Fatalf("nats client: unexpected message %+v", m)
	case <-time.After(d):
	}
}

func ioReadFull(br *bufio.Reader, b []byte) (int, error) {
	got := 0
	for got < len(b) {
		k, err := br.Read(b[got:])
		got += k
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

// TestNATSHarness checks the harness itself: a 3-node cluster carries a
// message between nodes, and a killed node comes back on its port.
func TestNATSHarness(t *testing.T) {
	nodes := startNATSCluster(t, 3, natsConfig{})
	a := dialNATSClient(t, nodes[0].Addr, nil)
	b := dialNATSClient(t, nodes[2].Addr, nil)
	b.Sub("h.>", "")
	var m natsMsg
	waitFor(t, "the subscription to cross the routes", func() bool {
		a.HPub("h.x", map[string]string{"K": "v"}, []byte("hello"))
		a.Flush()
		select {
		case m = <-b.msgs:
			return true
		case <-time.After(20 * time.Millisecond):
			return false
		}
	})
	if m.Subject != "h.x" || string(m.Payload) != "hello" || m.Header["K"] != "v" {
		t.Fatalf("got %+v", m)
	}
	nodes[1].Restart()
	if _, err := readNATSInfo(nodes[1].Addr); err != nil {
		t.Fatalf("restarted node: %v", err)
	}
	if os.Getenv("PXROUTE_NATS_LOG") != "" {
		t.Log(nodes[1].Log())
	}
}

// cmdRunning says whether the node's process is running (as far as the
// harness knows: started and not killed).
func (s *natsServer) cmdRunning() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}
