package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

const natsAlone = "nats-server alone (raw NATS subscribers)"

// natsFanoutScenario is issue 23's benchmark: one publisher on daemon A,
// n subscribers (TCP lines) split across daemons B and C, one nats-server
// between the daemons (each message crosses NATS once per daemon, and
// each daemon fans it out locally), 64-byte messages; against the same n
// subscribers connected to that nats-server directly as raw NATS clients.
// Besides messages/s delivered it reports CPU per delivered message: the
// user+system time of every process doing the work (the daemons and
// nats-server; nats-server alone) over the measured seconds, divided by
// the messages delivered in them.
func natsFanoutScenario(n int) scenario {
	cpuPerMsg, cores, outDrops, drops := &perRun{}, &perRun{}, &perRun{}, &perRun{}
	run := func(kind string) func(cfg config) (float64, error) {
		return func(cfg config) (float64, error) {
			r, err := natsFanoutRun(cfg, kind, n)
			if err != nil {
				return 0, err
			}
			name := "pxroute"
			if kind == "nats" {
				name = natsAlone
			}
			cpuPerMsg.add(name, r.cpuPerMsg*1e6)
			cores.add(name, r.cores)
			if kind == "pxroute" {
				outDrops.add(name, r.outDrops)
				drops.add(name, r.drops)
			}
			return r.delivered, nil
		}
	}
	return scenario{
		name:  "nats-fanout",
		title: fmt.Sprintf("NATS across daemons: 1 publisher on daemon A, %d subscribers split across daemons B and C, one nats-server, 64-byte messages", n),
		unit:  "messages/s delivered",
		contenders: []contender{
			{"pxroute", "nats-server", run("pxroute")},
			{natsAlone, "nats-server", run("nats")},
		},
		target: "pxroute (3 daemons + nats-server) ≥ 2 × nats-server alone",
		check:  ratioAtLeast(2, natsAlone),
		footer: func() string {
			return perRunTable("Per run (medians, min–max): CPU per delivered message, the user+system time over the measured seconds of the processes doing the work (pxroute: daemons A, B, C and nats-server; else nats-server) divided by the messages delivered meanwhile; the cores those processes used; pxroute's drops while measuring (Stats `drops`, every reason) at A's NATS endpoint (`hwm`: the publisher outran what A could write to NATS, under the fan-out's drop-newest) and at B's and C's NATS and subscriber endpoints.",
				[]string{"CPU µs per delivered message", "cores used", "pxroute drops at A", "pxroute drops at B, C"}, cpuPerMsg, cores, outDrops, drops)
		},
	}
}

type natsFanoutResult struct {
	delivered, cpuPerMsg, cores, outDrops, drops float64
}

func natsFanoutRun(cfg config, kind string, n int) (res natsFanoutResult, err error) {
	addrs, err := freeAddrs(7)
	if err != nil {
		return res, err
	}
	natsAddr, pubAddr, subB, subC, adminA, adminB, adminC := addrs[0], addrs[1], addrs[2], addrs[3], addrs[4], addrs[5], addrs[6]
	srv, err := spawn("nats-server", []string{"-a", "127.0.0.1", "-p", port(natsAddr)}, natsAddr)
	if err != nil {
		return res, err
	}
	procs := []*process{srv}
	defer func() { // the daemons first: nats-server going first would make them reconnect
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop()
		}
	}()
	payload := bytes.Repeat([]byte("x"), fanoutPayload)
	var subAddrs []string
	var publish []byte
	if kind == "pxroute" {
		natsEP := fmt.Sprintf(`kind: nats, servers: ["nats://%s"]`, natsAddr)
		a, err := startRouterAdmin(cfg, adminA, fmt.Sprintf(`
endpoints:
  pub: {kind: tcp, listen: "%s", framing: lines}
  out: {%s, subject: bench.feed, subscribe: []}
routes:
  - {pattern: fanout, from: pub, to: out}
`, pubAddr, natsEP), 1, pubAddr)
		if err != nil {
			return res, err
		}
		procs = append(procs, a)
		for _, d := range [][2]string{{subB, adminB}, {subC, adminC}} {
			p, err := startRouterAdmin(cfg, d[1], fmt.Sprintf(`
endpoints:
  in:   {%s, subscribe: [bench.feed]}
  subs: {kind: tcp, listen: "%s", framing: lines}
routes:
  - {pattern: fanout, from: in, to: subs}
`, natsEP, d[0]), 1, d[0])
			if err != nil {
				return res, err
			}
			procs = append(procs, p)
		}
		subAddrs = []string{subB, subC}
		publish = append(payload[:fanoutPayload-1:fanoutPayload-1], '\n')
	} else {
		subAddrs = []string{natsAddr}
		publish = []byte(fmt.Sprintf("PUB bench.feed %d\r\n%s\r\n", fanoutPayload, payload))
	}

	var got atomic.Int64
	var wg sync.WaitGroup
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()
	for i := range n {
		c, err := dialRetry(subAddrs[i%len(subAddrs)])
		if err != nil {
			return res, fmt.Errorf("subscriber %d: %w", i, err)
		}
		conns = append(conns, c)
		skip, per := 0, 1
		if kind == "nats" {
			if _, err := io.WriteString(c, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB bench.feed 1\r\n"); err != nil {
				return res, err
			}
			skip, per = 1, 2 // INFO; MSG line and payload line
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 128<<10)
			nl, counted := 0, 0
			for {
				k, err := c.Read(buf)
				nl += bytes.Count(buf[:k], []byte{'\n'})
				if m := max(0, nl-skip) / per; m > counted {
					got.Add(int64(m - counted))
					counted = m
				}
				if err != nil {
					return
				}
			}
		}()
	}

	if kind == "nats" {
		pubAddr = natsAddr
	}
	pub, err := dialRetry(pubAddr)
	if err != nil {
		return res, err
	}
	defer pub.Close()
	if kind == "nats" {
		io.WriteString(pub, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n")
		go io.Copy(io.Discard, pub) // INFO, PINGs: never let them back up
	}
	stop := make(chan struct{})
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		flood(pub, bytes.Repeat(publish, 1024), stop, nil)
	}()
	defer func() { close(stop); pub.Close(); <-pubDone }()

	time.Sleep(cfg.dur(time.Second)) // warm up: every subscription in place
	cpu := func() float64 {
		var s float64
		for _, p := range procs {
			s += treeCPU(p.cmd.Process.Pid)
		}
		return s
	}
	drops := func() (atA, atBC float64, err error) {
		if kind != "pxroute" {
			return 0, 0, nil
		}
		for _, at := range []struct{ admin, ep string }{{adminA, "out"}, {adminB, "in"}, {adminB, "subs"}, {adminC, "in"}, {adminC, "subs"}} {
			e, err := endpointStats(at.admin, at.ep)
			if err != nil {
				return 0, 0, err
			}
			var n float64
			for _, v := range e.Drops {
				n += float64(v)
			}
			if at.admin == adminA {
				atA += n
			} else {
				atBC += n
			}
		}
		return atA, atBC, nil
	}
	a0, bc0, err := drops()
	if err != nil {
		return res, err
	}
	g0, c0, t0 := got.Load(), cpu(), time.Now()
	time.Sleep(cfg.dur(3 * time.Second))
	g1, c1, t1 := got.Load(), cpu(), time.Now()
	a1, bc1, err := drops()
	if err != nil {
		return res, err
	}
	secs := t1.Sub(t0).Seconds()
	if g1 == g0 {
		return res, fmt.Errorf("nothing was delivered while measuring")
	}
	res.delivered = float64(g1-g0) / secs
	res.cpuPerMsg = (c1 - c0) / float64(g1-g0)
	res.cores = (c1 - c0) / secs
	res.outDrops, res.drops = a1-a0, bc1-bc0
	return res, nil
}
