package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// tlsHandshakeClients is how many handshakes the client helper keeps in
// flight.
const tlsHandshakeClients = 8

// tlsHandshakesScenario: full TLS 1.3 handshakes (no resumption) per
// second through a TLS listener bridged to a plain sink, with a server
// certificate of keyType ("ecdsa": P-256, "rsa": 2048 bits).
func tlsHandshakesScenario(keyType string) scenario {
	serverMs, clientMs := &perRun{}, &perRun{}
	run := func(via string) func(cfg config) (float64, error) {
		return func(cfg config) (float64, error) {
			return tlsHandshakesRun(cfg, via, keyType, serverMs, clientMs)
		}
	}
	label := map[string]string{"ecdsa": "ECDSA P-256", "rsa": "RSA 2048"}[keyType]
	return scenario{
		name:  "tls-handshakes-" + keyType,
		title: fmt.Sprintf("TLS handshakes: full TLS 1.3 handshakes then close, %s server certificate, %d in flight", label, tlsHandshakeClients),
		unit:  "handshakes/s",
		contenders: []contender{
			{"pxroute", "", run("pxroute")},
			{tlsGoRelay, "", run(tlsGoRelay)},
		},
		target: "pxroute ≥ 1 × the Go relay",
		check:  ratioAtLeast(1, tlsGoRelay),
		footer: func() string {
			return perRunTable("CPU per handshake over the measured seconds: the server's processes', and the client helper's (it verifies the chain and the server's signature: two signature checks a handshake, which costs it more than the server's one signature with ECDSA).",
				[]string{"server CPU ms per handshake", "client CPU ms per handshake"}, serverMs, clientMs)
		},
	}
}

func tlsHandshakesRun(cfg config, via, keyType string, serverMs, clientMs *perRun) (float64, error) {
	certs, err := benchCerts(cfg)
	if err != nil {
		return 0, err
	}
	f := certs[keyType]
	sink, err := startSink(nil)
	if err != nil {
		return 0, err
	}
	defer sink.close()
	addrs, err := freeAddrs(1)
	if err != nil {
		return 0, err
	}
	var srv *process
	if via == "pxroute" {
		srv, err = startRouter(cfg, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "%s", tls: {cert: %q, key: %q}}
  back:  {kind: tcp, connect: "%s"}
routes:
  - {pattern: bridge, from: front, to: back}
`, addrs[0], f.cert, f.key, sink.addr()), 2, addrs[0])
	} else {
		srv, err = tlsHelper("tls-relay", addrs[0], addrs[0], sink.addr(), f.cert, f.key)
	}
	if err != nil {
		return 0, err
	}
	defer srv.stop()
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	warm, measure := cfg.dur(time.Second), cfg.dur(3*time.Second)
	client := exec.Command(self, "-helper", "tls-handshakes", addrs[0], f.ca, tlsServerName,
		strconv.Itoa(tlsHandshakeClients), warm.String(), measure.String())
	var out strings.Builder
	client.Stdout, client.Stderr = &out, os.Stderr
	if err := client.Start(); err != nil {
		return 0, err
	}
	// The server's CPU over the client's measured seconds: sampled here
	// at the same times, near enough.
	time.Sleep(warm)
	s0 := treeCPU(srv.cmd.Process.Pid)
	time.Sleep(measure)
	s1 := treeCPU(srv.cmd.Process.Pid)
	if err := waitBounded(client, time.Minute); err != nil {
		return 0, err
	}
	var rate, clientCPU float64
	var failed int
	if _, err := fmt.Sscan(out.String(), &rate, &failed, &clientCPU); err != nil {
		return 0, fmt.Errorf("the client said %q: %v", out.String(), err)
	}
	if rate == 0 {
		return 0, fmt.Errorf("no handshake completed (%d failed)", failed)
	}
	n := rate * measure.Seconds()
	name := via
	if cfg.baseline != "" {
		name = cfg.baseline // its own row, not mixed into this build's
	}
	serverMs.add(name, (s1-s0)*1e3/n)
	clientMs.add(name, clientCPU*1e3/n)
	return rate, nil
}

// waitBounded waits for a helper started with Start, killing it after
// limit.
func waitBounded(cmd *exec.Cmd, limit time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not finish in %v", cmd.Args[2], limit)
	}
}
