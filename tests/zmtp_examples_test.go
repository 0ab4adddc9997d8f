package tests

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// exampleTopology reads topologies/NAME.yaml with each old string (an
// address, a path) replaced by its new one, so that the example itself,
// comments and all, runs on free ports and in the test's own directory.
// An old string missing from the file fails the test: the example changed.
func exampleTopology(t *testing.T, name string, oldNew ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "topologies", name))
	if err != nil {
		t.Fatal(err)
	}
	yaml := string(b)
	for i := 0; i < len(oldNew); i += 2 {
		if !strings.Contains(yaml, oldNew[i]) {
			t.Fatalf("%s no longer holds %q", name, oldNew[i])
		}
		yaml = strings.ReplaceAll(yaml, oldNew[i], oldNew[i+1])
	}
	return yaml
}

// exampleCurveKey sets zmq-curve-feed.yaml's PXROUTE_CURVE_SECRET_KEY_FILE
// to a fresh CURVE secret key only its owner may read, and returns the
// key pair.
func exampleCurveKey(t *testing.T) (public, secret string) {
	t.Helper()
	public, secret = curveKeypair(t)
	t.Setenv("PXROUTE_CURVE_SECRET_KEY_FILE", secretFile(t, "curve.key", secret+"\n"))
	return public, secret
}

// The ZeroMQ examples in topologies/, each run as written (but for its
// addresses and paths) between pyzmq peers.
var zmtpExampleCases = []zmtpCase{
	{"zmq-forwarder.yaml-pyzmq-pub-through-xsub-xpub-to-two-pyzmq-subs-multipart-whole", func(t *testing.T, v variant) {
		msgs := [][][]byte{{[]byte("tick.eur"), []byte("1.08")}, {[]byte("news"), {}, {0, 0xFF, '\n'}}}
		pub := startZMQ(t, map[string]any{"type": "PUB", "bind": "tcp://127.0.0.1:*", "actions": []any{
			[]any{"publish", [][]string{hexParts(msgs[0]...), hexParts(msgs[1]...)}, 1000, 5},
		}})
		r := start(t, v, exampleTopology(t, "zmq-forwarder.yaml",
			"127.0.0.1:5556", tcpAddr(pub.bound), "127.0.0.1:8100", "127.0.0.1:0"))
		const subs, n = 2, 20
		var peers []*zmqPeer
		for range subs {
			peers = append(peers, startZMQ(t, map[string]any{"type": "SUB", "connect": zmqAddr(r.Addr("downstream")),
				"subscribe": []string{""}, "actions": []any{[]any{"recv", n}}}))
		}
		for i, p := range peers {
			for k := range n {
				got := p.recv(t)
				if !equalParts(got, string(msgs[0][0]), string(msgs[0][1])) &&
					!equalParts(got, string(msgs[1][0]), "", string(msgs[1][2])) {
					t.Fatalf("subscriber %d message %d: %q is neither message published", i, k, got)
				}
			}
			p.finish(t)
		}
		if up := endpoint(r.Stats(), "upstream"); up.Opened == 0 || up.MsgsIn < n {
			t.Fatalf("upstream opened %d connections and took %d messages", up.Opened, up.MsgsIn)
		}
	}},
	{"zmq-curve-feed.yaml-lines-to-a-pyzmq-curve-sub-sealed-and-filtered", func(t *testing.T, v variant) {
		spub, _ := exampleCurveKey(t)
		cpub, csec := curveKeypair(t)
		r := start(t, v, exampleTopology(t, "zmq-curve-feed.yaml", "127.0.0.1:7600", "127.0.0.1:0", "127.0.0.1:5560", "127.0.0.1:0"))
		// The peer stays until the figures are read: a close of libzmq's
		// with our bytes unread in its socket is a reset, an error.
		gate := filepath.Join(t.TempDir(), "go")
		sub := startZMQ(t, map[string]any{"type": "SUB", "connect": zmqAddr(r.Addr("feed")), "curve_client": []string{spub, cpub, csec},
			"subscribe": hexParts([]byte("tick.")), "actions": []any{[]any{"recv", 2}, []any{"waitfile", gate}}})
		waitFor(t, "the subscription", func() bool {
			return endpoint(r.Stats(), "feed").Active == 1 && controlIn(r.Stats(), "feed") >= 1
		})
		io.WriteString(dial(t, r.Addr("producers")), "news.a\ntick.eur 1.08\nnews.b\ntick.usd 0.92\n")
		for i, want := range []string{"tick.eur 1.08", "tick.usd 0.92"} {
			if got := sub.recv(t); !equalParts(got, want) {
				t.Fatalf("message %d: %q, want %q", i, got, want)
			}
		}
		// A write is counted when it completes, which may be after the
		// peer read it.
		waitFor(t, "both messages counted", func() bool { return endpoint(r.Stats(), "feed").MsgsOut == 2 })
		e := endpoint(r.Stats(), "feed")
		if errs := zmtpFigs(r.Stats(), "feed").Errors; errs != 0 || e.MsgsOut != 2 || e.Offered != e.MsgsOut+uint64(e.Queued)+sumCounts(e.Drops) {
			t.Fatalf("feed: errors %d, out %d, offered %d, queued %d, drops %v", errs, e.MsgsOut, e.Offered, e.Queued, e.Drops)
		}
		touch(t, gate)
		sub.finish(t)
	}},
	{"zmq-pub-to-lines.yaml-pyzmq-pub-tick-messages-to-a-line-subscriber-and-the-log", func(t *testing.T, v variant) {
		pub := startZMQ(t, map[string]any{"type": "PUB", "bind": "tcp://127.0.0.1:*", "actions": []any{
			[]any{"publish", [][]string{hexParts([]byte("other."), []byte("no")), hexParts([]byte("tick.eur"), []byte(" 1.08"))}, 1000, 5},
		}})
		logPath := filepath.Join(t.TempDir(), "ticks.log")
		r := start(t, v, exampleTopology(t, "zmq-pub-to-lines.yaml",
			"127.0.0.1:5556", tcpAddr(pub.bound), "127.0.0.1:7501", "127.0.0.1:0", "/tmp/pxroute-ticks.log", logPath))
		c := bufio.NewReader(steady(dial(t, r.Addr("subscribers"))))
		waitFor(t, "the line subscriber", func() bool { return endpoint(r.Stats(), "subscribers").Active == 1 })
		const n = 20
		for i, line := range readLines(t, c, n) {
			if line != "tick.eur 1.08" {
				t.Fatalf("line %d is %q, want the parts of a tick. message back to back", i, line)
			}
		}
		waitFor(t, "the log to hold the lines", func() bool {
			b, _ := os.ReadFile(logPath)
			return strings.Count(string(b), "\n") >= n
		})
		b, _ := os.ReadFile(logPath)
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		for i, line := range lines {
			if line != "tick.eur 1.08" {
				t.Fatalf("log line %d is %q", i, line)
			}
		}
	}},
	{"zmq-push-workers.yaml-fifo-lines-to-two-pyzmq-pull-workers-each-job-once", func(t *testing.T, v variant) {
		fifo := filepath.Join(t.TempDir(), "jobs")
		r := start(t, v, exampleTopology(t, "zmq-push-workers.yaml",
			"/tmp/pxroute-jobs", fifo, "127.0.0.1:5558", "127.0.0.1:0"))
		var workers []*zmqPeer
		for range 2 {
			workers = append(workers, startZMQ(t, map[string]any{"type": "PULL", "connect": zmqAddr(r.Addr("workers")),
				"actions": []any{[]any{"recvidle", 1500}}}))
		}
		waitFor(t, "workers", func() bool { return endpoint(r.Stats(), "workers").Active == 2 })
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // pxroute holds it open for reading
		if err != nil {
			t.Fatal(err)
		}
		const n = 100
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "job %03d\n", i)
		}
		if _, err := w.WriteString(b.String()); err != nil {
			t.Fatal(err)
		}
		w.Close()
		var got []string
		for i, wk := range workers {
			jobs := workerJobs(t, wk)
			if len(jobs) == 0 {
				t.Fatalf("worker %d got no job: not round robin", i)
			}
			got = append(got, jobs...)
		}
		sort.Strings(got)
		if len(got) != n {
			t.Fatalf("workers got %d jobs, want %d: %q", len(got), n, got)
		}
		for i, g := range got {
			if want := fmt.Sprintf("job %03d", i); g != want {
				t.Fatalf("job %d is %q, want %q (lost or doubled)", i, g, want)
			}
		}
	}},
}

// workerJobs collects the one-part messages a recvidle worker printed.
func workerJobs(t *testing.T, w *zmqPeer) []string {
	t.Helper()
	var out []string
	for {
		line := w.next(t)
		if line == "DONE" {
			return out
		}
		var m struct{ Recv []string }
		if err := json.Unmarshal([]byte(line), &m); err != nil || len(m.Recv) != 1 {
			t.Fatalf("worker: %q", line)
		}
		p, _ := hex.DecodeString(m.Recv[0])
		out = append(out, string(p))
	}
}

func TestZMTPExamples(t *testing.T) {
	for _, v := range variants() {
		for _, c := range zmtpExampleCases {
			t.Run(v.String()+"/"+c.name, func(t *testing.T) { c.run(t, v) })
		}
	}
}
