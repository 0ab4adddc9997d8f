package tests

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// zmtpCase is one ZeroMQ socket pair through pxroute, with pyzmq (libzmq
// 4.3) as the real peer on the ZeroMQ side.
type zmtpCase struct {
	name string
	run  func(t *testing.T, v variant)
}

var zmtpPyzmqCases = []zmtpCase{
	{"pyzmq-push-to-pull-fans-out-to-tcp-lines-parts-joined", func(t *testing.T, v variant) {
		r := start(t, v, `
endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: in, to: subs}
`)
		const subs, n = 2, 50
		var readers []*bufio.Reader
		for range subs {
			readers = append(readers, bufio.NewReader(steady(dial(t, r.Addr("subs")))))
		}
		waitFor(t, "subscribers", func() bool { return endpoint(r.Stats(), "subs").Active == subs })
		var actions []any
		var want []string
		for i := range n {
			// Two parts reach a single-part framing back to back.
			actions = append(actions, []any{"send", hexParts(fmt.Appendf(nil, "topic.%d ", i), []byte("body"))})
			want = append(want, fmt.Sprintf("topic.%d body", i))
		}
		startZMQ(t, map[string]any{"type": "PUSH", "connect": zmqAddr(r.Addr("in")), "actions": actions}).finish(t)
		for i, rd := range readers {
			if got := readLines(t, rd, n); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("subscriber %d got %q, want %q", i, got, want)
			}
		}
		waitFor(t, "in's count", func() bool { return endpoint(r.Stats(), "in").MsgsIn == n })
	}},
	{"pyzmq-push-over-ipc-to-a-unix-pull", func(t *testing.T, v variant) {
		path := filepath.Join(t.TempDir(), "pull.sock")
		r := start(t, v, fmt.Sprintf(`
endpoints:
  in: {kind: unix, listen: %q, framing: zmtp, socket: pull}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: in, to: subs}
`, path))
		sub := bufio.NewReader(steady(dial(t, r.Addr("subs"))))
		waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "subs").Active == 1 })
		startZMQ(t, map[string]any{"type": "PUSH", "connect": "ipc://" + path,
			"actions": []any{[]any{"send", hexParts([]byte("over"), []byte(" ipc"))}}}).finish(t)
		if got := readLines(t, sub, 1); got[0] != "over ipc" {
			t.Fatalf("got %q", got)
		}
	}},
	{"tcp-lines-to-push-pyzmq-pull-workers-connect", func(t *testing.T, v variant) {
		r := start(t, v, `
endpoints:
  jobs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  workers: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: push}
routes:
  - {pattern: balance, from: jobs, to: workers}
`)
		var peers []*zmqPeer
		for range 2 {
			peers = append(peers, startZMQ(t, map[string]any{"type": "PULL", "connect": zmqAddr(r.Addr("workers")),
				"actions": []any{[]any{"recvidle", 1500}}}))
		}
		waitFor(t, "workers", func() bool { return endpoint(r.Stats(), "workers").Active == 2 })
		checkWorkQueue(t, r.Addr("jobs"), peers, 100)
	}},
	{"tcp-lines-to-push-connects-to-pyzmq-pull-that-binds", func(t *testing.T, v variant) {
		pull := startZMQ(t, map[string]any{"type": "PULL", "bind": "tcp://127.0.0.1:*",
			"actions": []any{[]any{"recv", 1}, []any{"recvidle", 1500}}})
		r := start(t, v, fmt.Sprintf(`
endpoints:
  jobs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  worker: {kind: tcp, connect: %q, framing: zmtp, socket: push}
routes:
  - {pattern: balance, from: jobs, to: worker}
`, tcpAddr(pull.bound)))
		waitFor(t, "worker", func() bool { return endpoint(r.Stats(), "worker").Active == 1 })
		checkWorkQueue(t, r.Addr("jobs"), []*zmqPeer{pull}, 100)
	}},
	{"three-pyzmq-req-clients-through-router-dealer-to-rep-workers-get-their-own-replies", func(t *testing.T, v variant) {
		r := start(t, v, `
endpoints:
  clients: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: router}
  workers: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: dealer}
routes:
  - {pattern: request, from: clients, to: workers}
`)
		for range 2 {
			startZMQ(t, map[string]any{"type": "REP", "connect": zmqAddr(r.Addr("workers")),
				"actions": []any{[]any{"serveidle", 3000}}})
		}
		waitFor(t, "workers", func() bool { return endpoint(r.Stats(), "workers").Active == 2 })
		const clients, n = 3, 20
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for c := range clients {
			tag := fmt.Sprintf("client%d", c)
			p := startZMQ(t, map[string]any{"type": "REQ", "connect": zmqAddr(r.Addr("clients")),
				"actions": []any{[]any{"request", n, tag}}})
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range n {
					var m struct{ Reply string }
					line := <-p.lines
					if err := json.Unmarshal([]byte(line), &m); err != nil || m.Reply != fmt.Sprintf("re:%s-%d", tag, i) {
						errs <- fmt.Errorf("%s request %d: got %q, want reply re:%s-%d (%s)", tag, i, line, tag, i, p.stderr)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}},
	{"pyzmq-pair-bridged-both-ways-to-pyzmq-pair-that-binds", func(t *testing.T, v variant) {
		back := startZMQ(t, map[string]any{"type": "PAIR", "bind": "tcp://127.0.0.1:*",
			"actions": []any{[]any{"recv", 1}, []any{"send", hexParts([]byte("pong"), []byte(""))}, []any{"sleep", 0.5}}})
		r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pair}
  back: {kind: tcp, connect: %q, framing: zmtp, socket: pair}
routes:
  - {pattern: bridge, from: front, to: back}
`, tcpAddr(back.bound)))
		front := startZMQ(t, map[string]any{"type": "PAIR", "connect": zmqAddr(r.Addr("front")),
			"actions": []any{[]any{"send", hexParts([]byte("ping"), []byte{0, 1})}, []any{"recv", 1}}})
		if got := back.recv(t); !equalParts(got, "ping", "\x00\x01") {
			t.Fatalf("back got %q, want [ping \\x00\\x01]", got)
		}
		if got := front.recv(t); !equalParts(got, "pong", "") {
			t.Fatalf("front got %q, want [pong \"\"]", got)
		}
		front.finish(t)
		back.finish(t)
	}},
	{"multipart-byte-exact-with-empty-parts-and-a-1MiB-part", func(t *testing.T, v variant) {
		r := start(t, v, `
endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, max_frame: 4MiB}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: push, max_frame: 4MiB}
routes:
  - {pattern: fanout, from: in, to: out}
`)
		pull := startZMQ(t, map[string]any{"type": "PULL", "connect": zmqAddr(r.Addr("out")), "actions": []any{[]any{"recv", 3}}})
		waitFor(t, "puller", func() bool { return endpoint(r.Stats(), "out").Active == 1 })
		big := bytes.Repeat([]byte{0xA5}, 1<<20)
		msgs := [][][]byte{
			{{}, []byte("topic"), {}, {0, 0xFF, '\n'}, {}},
			{big, {}, []byte("tail")},
			{{}},
		}
		var actions []any
		for _, m := range msgs {
			p := hexParts(m...)
			if len(m[0]) == 1<<20 {
				p[0] = "rep:1048576:a5"
			}
			actions = append(actions, []any{"send", p})
		}
		startZMQ(t, map[string]any{"type": "PUSH", "connect": zmqAddr(r.Addr("in")), "actions": actions}).finish(t)
		for i, want := range msgs {
			got := pull.recv(t)
			if len(got) != len(want) {
				t.Fatalf("message %d: %d parts, want %d", i, len(got), len(want))
			}
			for j := range want {
				if !bytes.Equal(got[j], want[j]) {
					t.Fatalf("message %d part %d: %d bytes differ from the %d sent", i, j, len(got[j]), len(want[j]))
				}
			}
		}
		pull.finish(t)
	}},
	{"tcp-lines-fan-out-to-pub-and-pyzmq-subs-get-every-line", func(t *testing.T, v variant) {
		r := start(t, v, `
endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  feed: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pub}
routes:
  - {pattern: fanout, from: in, to: feed}
`)
		const subs, n = 2, 50
		var peers []*zmqPeer
		for range subs {
			peers = append(peers, startZMQ(t, map[string]any{"type": "SUB", "connect": zmqAddr(r.Addr("feed")),
				"subscribe": []string{""}, "actions": []any{[]any{"recv", n}}}))
		}
		// Each subscription is control, counted: once both are in, no
		// line is lost to a subscriber joining late.
		waitFor(t, "both subscriptions", func() bool {
			for _, e := range r.Stats().Endpoints {
				if e.Name == "feed" {
					return e.ControlIn == subs
				}
			}
			return false
		})
		c := dial(t, r.Addr("in"))
		for i := range n {
			fmt.Fprintf(c, "line %d\n", i)
		}
		for _, p := range peers {
			for i := range n {
				if got := p.recv(t); !equalParts(got, fmt.Sprintf("line %d", i)) {
					t.Fatalf("message %d: %q", i, got)
				}
			}
			p.finish(t)
		}
	}},
	{"sub-connects-to-pyzmq-pub-and-subscribes-on-connect", func(t *testing.T, v variant) {
		pub := startZMQ(t, map[string]any{"type": "PUB", "bind": "tcp://127.0.0.1:*", "actions": []any{
			[]any{"publish", [][]string{hexParts([]byte("other."), []byte("no")), hexParts([]byte("tick."), []byte("yes"))}, 1000, 5},
		}})
		r := start(t, v, fmt.Sprintf(`
endpoints:
  ticks: {kind: tcp, connect: %q, framing: zmtp, socket: sub, subscribe: ["tick."]}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: ticks, to: out}
`, tcpAddr(pub.bound)))
		c := bufio.NewReader(steady(dial(t, r.Addr("out"))))
		waitFor(t, "the line subscriber", func() bool { return endpoint(r.Stats(), "out").Active == 1 })
		for i, line := range readLines(t, c, 20) {
			if line != "tick.yes" {
				t.Fatalf("line %d is %q: the publisher filtered on no subscription of ours", i, line)
			}
		}
	}},
}

// checkWorkQueue writes n lines to the jobs listener and checks that the
// pyzmq PULL workers got each exactly once, between them.
func checkWorkQueue(t *testing.T, jobs string, workers []*zmqPeer, n int) {
	t.Helper()
	c := dial(t, jobs)
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "job %03d\n", i)
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range workers {
		for {
			line := <-w.lines
			if line == "DONE" || line == "" {
				break
			}
			var m struct{ Recv []string }
			if err := json.Unmarshal([]byte(line), &m); err != nil || len(m.Recv) != 1 {
				t.Fatalf("worker: %q", line)
			}
			p, _ := hex.DecodeString(m.Recv[0])
			got = append(got, string(p))
		}
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
}

func equalParts(got [][]byte, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		if string(got[i]) != want[i] {
			return false
		}
	}
	return true
}

func TestZMTPWithPyzmq(t *testing.T) {
	for _, v := range variants() {
		for _, c := range zmtpPyzmqCases {
			t.Run(v.String()+"/"+c.name, func(t *testing.T) { c.run(t, v) })
		}
	}
}
