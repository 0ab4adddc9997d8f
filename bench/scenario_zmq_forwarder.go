package main

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// zmqLoadSource is the libzmq publisher, subscribers and zmq_proxy, in C:
// every contender is fed and read by the same libzmq program.
//
//go:embed peers/zmq_load.c
var zmqLoadSource []byte

const (
	zmqProxy  = "zmq_proxy (libzmq, C)"
	zmqDirect = "libzmq PUB→SUB direct (no forwarder)"
)

// zmqForwarderScenario is issue 20's benchmark: a libzmq publisher, n
// libzmq SUB sockets subscribed to everything, 64-byte messages, and in
// between pxroute as an XSUB→XPUB forwarder or libzmq's own zmq_proxy.
// With raw, the subscribers are plain TCP connections that speak ZMTP and
// count frames without libzmq (zmq_load.c's rawsub): on a small machine
// libzmq's SUB sockets cost more per message than either forwarder and
// take the cores the forwarders need, which the raw ones do not.
func zmqForwarderScenario(n int, raw bool) scenario {
	pxroute := func(loops int) func(cfg config) (float64, error) {
		return func(cfg config) (float64, error) {
			return zmqForwarderRun(cfg, n, raw, func(pubAddr, subAddr string) (*process, error) {
				// The default overflow of a fanout destination is
				// drop-newest: as a ZeroMQ XPUB, it never blocks on a
				// subscriber, but pxroute counts what it drops.
				return startRouter(cfg, fmt.Sprintf(`
endpoints:
  upstream:   {kind: tcp, connect: "%s", framing: zmtp, socket: xsub, subscribe: [""]}
  downstream: {kind: tcp, listen: "%s", framing: zmtp, socket: xpub}
routes:
  - {pattern: fanout, from: upstream, to: downstream}
`, pubAddr, subAddr), loops, subAddr)
			})
		}
	}
	proxy := func(cfg config) (float64, error) {
		return zmqForwarderRun(cfg, n, raw, func(pubAddr, subAddr string) (*process, error) {
			bin, err := zmqLoad(cfg)
			if err != nil {
				return nil, err
			}
			return spawn(bin, []string{"proxy", "tcp://" + pubAddr, "tcp://" + subAddr}, subAddr)
		})
	}
	direct := func(cfg config) (float64, error) {
		return zmqForwarderRun(cfg, n, raw, nil)
	}
	name, title := fmt.Sprintf("zmq-forwarder-%d", n), fmt.Sprintf("ZeroMQ XSUB→XPUB forwarder: a libzmq publisher, %d libzmq subscribers, 64-byte messages", n)
	if raw {
		name = fmt.Sprintf("zmq-forwarder-raw-%d", n)
		title = fmt.Sprintf("ZeroMQ XSUB→XPUB forwarder: a libzmq publisher, %d light ZMTP subscribers (C, no libzmq), 64-byte messages", n)
	}
	return scenario{
		name:  name,
		title: title,
		unit:  "messages/s delivered",
		contenders: []contender{
			{"pxroute", "cc", pxroute(1)},
			{"pxroute (2 loops)", "cc", pxroute(2)},
			{zmqProxy, "cc", proxy},
			{zmqDirect, "cc", direct},
		},
		target: "pxroute ≥ 1.5 × zmq_proxy",
		check:  ratioAtLeast(1.5, zmqProxy),
	}
}

// zmqForwarderRun starts the publisher, then the forwarder (none when
// forwarder is nil: the subscribers connect to the publisher), then the
// subscribers, and returns what they received per second. The
// subscribers are split over one process per core so that reading is
// not held to one thread.
func zmqForwarderRun(cfg config, n int, raw bool, forwarder func(pubAddr, subAddr string) (*process, error)) (float64, error) {
	bin, err := zmqLoad(cfg)
	if err != nil {
		return 0, err
	}
	addrs, err := freeAddrs(2)
	if err != nil {
		return 0, err
	}
	pubAddr, subAddr := addrs[0], addrs[1]
	pub, err := spawn(bin, []string{"pub", "tcp://" + pubAddr}, pubAddr)
	if err != nil {
		return 0, err
	}
	pub.shared = true // the load generator's CPU is not the contender's
	defer pub.stop()
	if forwarder == nil {
		subAddr = pubAddr
	} else {
		fw, err := forwarder(pubAddr, subAddr)
		if err != nil {
			return 0, err
		}
		defer fw.stop()
	}
	warm, meas := cfg.dur(time.Second), cfg.dur(3*time.Second)
	procs := min(runtime.NumCPU(), n)
	var wg sync.WaitGroup
	rates := make([]float64, procs)
	errs := make([]error, procs)
	for i := range procs {
		share := n/procs + btoi(i < n%procs)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rates[i], errs[i] = zmqSubscribers(bin, subAddr, share, raw, warm, meas)
		}()
	}
	wg.Wait()
	total := 0.0
	for i := range procs {
		if errs[i] != nil {
			return 0, errs[i]
		}
		total += rates[i]
	}
	if total == 0 {
		return 0, fmt.Errorf("nothing was delivered while measuring: the forwarder stalled")
	}
	return total, nil
}

// zmqSubscribers runs one process of n SUB sockets (raw: n light ZMTP
// subscribers) and returns the rate they received at over the measured
// time.
func zmqSubscribers(bin, addr string, n int, raw bool, warm, meas time.Duration) (float64, error) {
	role, target := "sub", "tcp://"+addr
	if raw {
		role, target = "rawsub", addr
	}
	cmd := exec.Command(bin, role, target, strconv.Itoa(n),
		strconv.Itoa(int(warm.Milliseconds())), strconv.Itoa(int(meas.Milliseconds())))
	cmd.Stderr = os.Stderr
	done := time.AfterFunc(warm+meas+20*time.Second, func() { cmd.Process.Kill() })
	defer done.Stop()
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("libzmq subscribers: %w", err)
	}
	var got, secs float64
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "RECEIVED %g %g", &got, &secs); err != nil || secs <= 0 {
		return 0, fmt.Errorf("libzmq subscribers said %q", out)
	}
	return got / secs, nil
}

var zmqLoadBuild struct {
	sync.Once
	bin string
	err error
}

// zmqLoad compiles peers/zmq_load.c against libzmq, once per run.
func zmqLoad(cfg config) (string, error) {
	b := &zmqLoadBuild
	b.Do(func() {
		src := filepath.Join(cfg.dir, "zmq_load.c")
		b.bin = filepath.Join(cfg.dir, "zmq_load")
		if b.err = os.WriteFile(src, zmqLoadSource, 0o644); b.err != nil {
			return
		}
		out, err := exec.Command("cc", "-O2", "-o", b.bin, src, "-lzmq").CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("compiling the libzmq load generator (cc zmq_load.c -lzmq; bench/setup.sh installs libzmq3-dev): %v\n%s", err, out)
		}
	})
	return b.bin, b.err
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
