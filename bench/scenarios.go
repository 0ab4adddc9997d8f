package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// allScenarios lists the scenarios in report order; each lives in a file
// of its own (scenario_NAME.go), helpers they share stay here.
func allScenarios() []scenario {
	out := []scenario{bridgeScenario()}
	for _, n := range []int{10, 100, 1000} {
		out = append(out, fanoutScenario(n))
	}
	out = append(out, inprocScenario(), echoScenario(), idleScenario(), latencyScenario(), chatScenario(), fileScenario())
	out = append(out, zmqForwarderScenario(10, false), zmqForwarderScenario(100, false),
		zmqForwarderScenario(10, true), zmqForwarderScenario(100, true))
	out = append(out, tlsBridgeScenario(1), tlsBridgeScenario(4),
		tlsHandshakesScenario("ecdsa"), tlsHandshakesScenario("rsa"), tlsIdleScenario())
	for _, n := range []int{10, 100, 1000} {
		out = append(out, wsFanoutScenario(n))
	}
	return append(out, wsIdleScenario(), natsFanoutScenario(100))
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

const fanoutPayload = 64

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

// flood writes batch to pub again and again until stop is closed: a
// publisher as fast as the server takes it. A write that times out (the
// server read nothing for a second) is tried again; another error ends
// it. written, if not nil, counts the bytes written.
func flood(pub net.Conn, batch []byte, stop <-chan struct{}, written *atomic.Int64) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		pub.SetWriteDeadline(time.Now().Add(time.Second))
		k, err := pub.Write(batch)
		if written != nil {
			written.Add(int64(k))
		}
		if err != nil && !os.IsTimeout(err) {
			return
		}
	}
}
