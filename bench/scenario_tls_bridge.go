package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The TLS bridge's contenders: each terminates TLS and forwards plaintext
// to the benchmark's byte sink; "no relay" points the pump at a Go TLS
// sink directly, the ceiling the pump and sink allow.
const (
	tlsNoRelay = "no relay (pump → Go TLS sink)"
	tlsSocat   = "socat OPENSSL-LISTEN,fork"
	tlsNcat    = "ncat --ssl -l --keep-open --exec ncat"
	tlsStunnel = "stunnel4"
	tlsGoRelay = "Go crypto/tls relay (goroutine per conn)"
)

// tlsBridgeScenario: a TLS 1.3 AES-128-GCM byte pump (Go crypto/tls, 16
// KiB writes, conns connections) through a relay that terminates TLS and
// forwards the plaintext to a sink that counts it.
func tlsBridgeScenario(conns int) scenario {
	cpuPerGB := &perRun{}
	run := func(via string) func(cfg config) (float64, error) {
		return func(cfg config) (float64, error) {
			return tlsBridgeRun(cfg, via, conns, cpuPerGB)
		}
	}
	return scenario{
		name:  fmt.Sprintf("tls-bridge-%d", conns),
		title: fmt.Sprintf("TLS bridge throughput: TLS 1.3 AES-128-GCM in, plaintext out, %d connection(s) of 16 KiB writes", conns),
		unit:  "Gbit/s",
		contenders: []contender{
			{"pxroute", "", run("pxroute")},
			{tlsNoRelay, "", run(tlsNoRelay)},
			{tlsSocat, "socat", run(tlsSocat)},
			{tlsNcat, "ncat", run(tlsNcat)},
			{tlsStunnel, "stunnel4", run(tlsStunnel)},
			{tlsGoRelay, "", run(tlsGoRelay)},
		},
		target: "pxroute ≥ 1.5 × socat and stunnel4, ≥ 1 × the Go relay",
		check: func(res map[string]float64) (bool, string) {
			met1, how1 := ratioAtLeast(1.5, tlsSocat, tlsStunnel)(res)
			met2, how2 := ratioAtLeast(1, tlsGoRelay)(res)
			return met1 && met2, how1 + ", " + how2
		},
		footer: func() string {
			return perRunTable("Relay CPU per GB relayed: the relay's processes' user+system time (/proc/PID/stat, children included) over the measured seconds, divided by the bytes the sink counted in them.",
				[]string{"CPU s per GB, median (min–max)"}, cpuPerGB)
		},
	}
}

func tlsBridgeRun(cfg config, via string, conns int, cpuPerGB *perRun) (float64, error) {
	certs, err := benchCerts(cfg)
	if err != nil {
		return 0, err
	}
	f := certs["ecdsa"]
	var sinkTLS *tls.Config
	if via == tlsNoRelay {
		if sinkTLS, err = serverTLS(f); err != nil {
			return 0, err
		}
	}
	sink, err := startSink(sinkTLS)
	if err != nil {
		return 0, err
	}
	defer sink.close()
	addrs, err := freeAddrs(1)
	if err != nil {
		return 0, err
	}
	listen, target := addrs[0], addrs[0]
	var relay *process
	switch via {
	case "pxroute":
		relay, err = startRouter(cfg, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "%s", tls: {cert: %q, key: %q}}
  back:  {kind: tcp, connect: "%s"}
routes:
  - {pattern: bridge, from: front, to: back}
`, listen, f.cert, f.key, sink.addr()), 2, listen)
	case tlsNoRelay:
		target = sink.addr()
	case tlsSocat:
		relay, err = spawn("socat", []string{
			"OPENSSL-LISTEN:" + port(listen) + ",bind=127.0.0.1,fork,reuseaddr,cert=" + f.cert + ",key=" + f.key + ",verify=0",
			"TCP:" + sink.addr()}, listen)
	case tlsNcat:
		// ncat relays only through a program it runs per connection:
		// here a second ncat, connected to the sink, fed by a pipe.
		relay, err = spawn("ncat", []string{"--ssl", "--ssl-cert", f.cert, "--ssl-key", f.key,
			"-l", "127.0.0.1", port(listen), "--keep-open", "--exec", "/usr/bin/ncat 127.0.0.1 " + port(sink.addr())}, listen)
	case tlsStunnel:
		conf := filepath.Join(cfg.dir, "stunnel-"+strconv.FormatInt(time.Now().UnixNano(), 10)+".conf")
		text := fmt.Sprintf("foreground = yes\npid =\nsyslog = no\ndebug = 3\n[bench]\naccept = %s\nconnect = %s\ncert = %s\nkey = %s\n",
			listen, sink.addr(), f.cert, f.key)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			return 0, err
		}
		relay, err = spawn("stunnel4", []string{conf}, listen)
	case tlsGoRelay:
		relay, err = tlsHelper("tls-relay", listen, listen, sink.addr(), f.cert, f.key)
	}
	if err != nil {
		return 0, err
	}
	if relay != nil {
		defer relay.stop()
	}
	pump, err := loadHelper("ok", 10*time.Second, "tls-pump", target, f.ca, tlsServerName, strconv.Itoa(conns))
	if err != nil {
		return 0, err
	}
	defer pump.stop()
	relayCPU := func() float64 {
		if relay == nil {
			return 0
		}
		return treeCPU(relay.cmd.Process.Pid)
	}
	time.Sleep(cfg.dur(time.Second)) // warm up
	b0, c0, t0 := sink.got.Load(), relayCPU(), time.Now()
	time.Sleep(cfg.dur(3 * time.Second))
	b1, c1, t1 := sink.got.Load(), relayCPU(), time.Now()
	if b1 == b0 {
		return 0, fmt.Errorf("the sink got nothing while measuring")
	}
	if relay != nil {
		cpuPerGB.add(via, (c1-c0)/(float64(b1-b0)/1e9))
	}
	return float64(b1-b0) * 8 / 1e9 / t1.Sub(t0).Seconds(), nil
}
