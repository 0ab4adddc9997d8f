package tests

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// Every pattern with TLS ends: Go's crypto/tls clients dial pxroute's TLS
// listeners, pxroute's TLS connect endpoints dial Go's crypto/tls servers,
// and plain ends share the routes. Each case checks the bytes (every line,
// whole, in order where the pattern promises order), the handshakes
// counted (Secured), and for every destination Offered = MsgsOut + drops +
// QueuedMsgs with nothing dropped.

// tlsEnv is what a TLS pattern case shares between its yaml and run
// steps: the PKI, its server certificate, and addresses of Go TLS peers.
type tlsEnv struct {
	pki       *testPKI
	cert, key string
	addr      map[string]string
	got       map[string]chan string // lines a Go TLS server peer received, by peer
}

// tlsPatternCase is one pattern over TLS.
type tlsPatternCase struct {
	name string
	yaml func(t *testing.T, e *tlsEnv) string
	run  func(t *testing.T, r *router.Router, e *tlsEnv)
}

// tlsListen is the YAML of a TLS listener's tls: mapping.
func (e *tlsEnv) tlsListen() string { return fmt.Sprintf("{cert: %q, key: %q}", e.cert, e.key) }

// tlsConnect is the YAML of a TLS connect endpoint's tls: mapping.
func (e *tlsEnv) tlsConnect() string {
	return fmt.Sprintf("{ca: %q, server_name: localhost}", e.pki.caPath)
}

// clientConfig is a Go client's config trusting e's CA for localhost.
func (e *tlsEnv) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: e.pki.pool, ServerName: "localhost"}
}

// dialTLS dials a pxroute TLS listener and finishes the handshake, with
// ioTimeout bounding every read and write after it.
func dialTLS(t *testing.T, addr string, cfg *tls.Config) *tls.Conn {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: ioTimeout}, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("tls dial %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(2 * ioTimeout))
	t.Cleanup(func() { c.Close() })
	return c
}

// tlsLineServer is a Go TLS server for e's certificate that accepts any
// number of connections and passes each line it reads to handle (nil:
// collect into e.got[name]); what handle returns, if not empty, is
// written back.
func (e *tlsEnv) tlsLineServer(t *testing.T, name string, handle func(line string) string) string {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(e.cert, e.key)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1<<16)
	e.got[name] = got
	return serveEach(t, tls.NewListener(listenLocal(t), &tls.Config{Certificates: []tls.Certificate{pair}}), func(c net.Conn) {
		rd := bufio.NewReader(c)
		for {
			l, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			l = strings.TrimSuffix(l, "\n")
			got <- l
			if handle != nil {
				if reply := handle(l); reply != "" {
					io.WriteString(c, reply+"\n")
				}
			}
		}
	})
}

// received takes n lines a Go TLS server peer got, or fails.
func (e *tlsEnv) received(t *testing.T, name string, n int) []string {
	t.Helper()
	out := make([]string, 0, n)
	for len(out) < n {
		select {
		case l := <-e.got[name]:
			out = append(out, l)
		case <-time.After(ioTimeout):
			t.Fatalf("%s: %d of %d lines after %v", name, len(out), n, ioTimeout)
		}
	}
	return out
}

// waitSecured waits until endpoint name has counted want handshakes.
func waitSecured(t *testing.T, r *router.Router, name string, want uint64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d handshakes on %s", want, name), func() bool {
		n, _, _ := tlsFiguresOf(r.Stats(), name).counts()
		return n >= want
	})
	if n, failed, _ := tlsFiguresOf(r.Stats(), name).counts(); n != want || len(nonZero(failed)) > 0 {
		t.Fatalf("%s: %d handshakes (want %d), failures %v", name, n, want, failed)
	}
}

// delivered waits until each destination endpoint has sent want[name]
// messages, then checks that it was offered exactly those (Offered =
// MsgsOut + drops + QueuedMsgs, nothing dropped, nothing left queued).
func delivered(t *testing.T, r *router.Router, want map[string]uint64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("messages sent %v", want), func() bool {
		s := r.Stats()
		for name, n := range want {
			if endpoint(s, name).MsgsOut < n {
				return false
			}
		}
		return true
	})
	s := r.Stats()
	for name, n := range want {
		e := endpoint(s, name)
		var dropped uint64
		for _, d := range e.Drops {
			dropped += d
		}
		if e.MsgsOut != n || e.Offered != e.MsgsOut+dropped+uint64(e.Queued) || dropped != 0 || e.Queued != 0 {
			t.Errorf("%s: offered %d = sent %d + dropped %v + queued %d; want %d sent, no drops", name, e.Offered, e.MsgsOut, e.Drops, e.Queued, n)
		}
	}
}

// numbered is n lines "<who> line <i> <padding>", the padding growing so
// that a torn or spliced line shows.
func numbered(who string, n int) (lines []string, wire string) {
	var b strings.Builder
	for i := range n {
		l := fmt.Sprintf("%s line %d %s", who, i, strings.Repeat("p", i%37+1))
		lines = append(lines, l)
		b.WriteString(l + "\n")
	}
	return lines, b.String()
}

// inOrderPerSender checks that got holds each sender's lines whole, in
// the order sent, and exactly want of them in all.
func inOrderPerSender(t *testing.T, who string, got []string, sent map[string][]string) {
	t.Helper()
	next := map[string]int{}
	for _, l := range got {
		from, _, _ := strings.Cut(l, " line ")
		lines, ok := sent[from]
		if !ok || next[from] >= len(lines) || lines[next[from]] != l {
			t.Fatalf("%s got %q; from %q line %d was due", who, l, from, next[from])
		}
		next[from]++
	}
}

var tlsPatternCases = []tlsPatternCase{
	{
		name: "fanout/tls-subscribers-get-a-plain-source's-lines-in-order",
		yaml: func(t *testing.T, e *tlsEnv) string {
			return fmt.Sprintf(`
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines, tls: %s}
routes:
  - {pattern: fanout, from: pub, to: subs}
`, e.tlsListen())
		},
		run: func(t *testing.T, r *router.Router, e *tlsEnv) {
			const subs, n = 3, 300
			var readers []*bufio.Reader
			for range subs {
				readers = append(readers, bufio.NewReader(dialTLS(t, r.Addr("subs"), e.clientConfig())))
			}
			waitSecured(t, r, "subs", subs)
			waitFor(t, "subscribers", func() bool { return endpoint(r.Stats(), "subs").Active == subs })
			want, wire := numbered("pub", n)
			io.WriteString(dial(t, r.Addr("pub")), wire)
			for i, rd := range readers {
				if got := readLines(t, rd, n); strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Fatalf("subscriber %d got another sequence", i)
				}
			}
			delivered(t, r, map[string]uint64{"subs": subs * n})
		},
	},
	{
		name: "fanout/a-tls-source-reaches-plain-and-tls-subscribers",
		yaml: func(t *testing.T, e *tlsEnv) string {
			return fmt.Sprintf(`
endpoints:
  pub:     {kind: tcp, listen: "127.0.0.1:0", framing: lines, tls: %s}
  plain:   {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  secured: {kind: tcp, listen: "127.0.0.1:0", framing: lines, tls: %s}
routes:
  - {pattern: fanout, from: pub, to: [plain, secured]}
`, e.tlsListen(), e.tlsListen())
		},
		run: func(t *testing.T, r *router.Router, e *tlsEnv) {
			const n = 300
			readers := []*bufio.Reader{bufio.NewReader(dial(t, r.Addr("plain"))), bufio.NewReader(dial(t, r.Addr("plain")))}
			for range 2 {
				readers = append(readers, bufio.NewReader(dialTLS(t, r.Addr("secured"), e.clientConfig())))
			}
			waitSecured(t, r, "secured", 2)
			waitFor(t, "subscribers", func() bool {
				s := r.Stats()
				return endpoint(s, "plain").Active == 2 && endpoint(s, "secured").Active == 2
			})
			want, wire := numbered("pub", n)
			io.WriteString(dialTLS(t, r.Addr("pub"), e.clientConfig()), wire)
			for i, rd := range readers {
				if got := readLines(t, rd, n); strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Fatalf("subscriber %d got another sequence", i)
				}
			}
			waitSecured(t, r, "pub", 1)
			delivered(t, r, map[string]uint64{"plain": 2 * n, "secured": 2 * n})
		},
	},
	{
		name: "relay/tls-members-get-every-other-member's-lines",
		yaml: func(t *testing.T, e *tlsEnv) string {
			return fmt.Sprintf(`
endpoints:
  room: {kind: tcp, listen: "127.0.0.1:0", framing: lines, tls: %s}
routes:
  - {pattern: relay, members: room}
`, e.tlsListen())
		},
		run: func(t *testing.T, r *router.Router, e *tlsEnv) {
			relayRoom(t, r, e, []string{"room", "room", "room"})
			delivered(t, r, map[string]uint64{"room": 3 * 2 * 50})
		},
	},
	{
		name: "relay/plain-and-tls-members-share-a-room",
		yaml: func(t *testing.T, e *tlsEnv) string {
			return fmt.Sprintf(`
endpoints:
  plain:   {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  secured: {kind: tcp, listen: "127.0.0.1:0", framing: lines, tls: %s}
routes:
  - {pattern: relay, members: [plain, secured]}
`, e.tlsListen())
		},
		run: func(t *testing.T, r *router.Router, e *tlsEnv) {
			relayRoom(t, r, e, []string{"plain", "secured", "plain", "secured"})
			// Each member gets the other three's 50 lines.
			delivered(t, r, map[string]uint64{"plain": 2 * 3 * 50, "secured": 2 * 3 * 50})
		},
	},
	{
		name: "balance/each-job-to-exactly-one-tls-worker",
		yaml: func(t *testing.T, e *tlsEnv) string {
			return fmt.Sprintf(`
endpoints:
  jobs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  w1:   {kind: tcp, connect: %q, framing: lines, tls: %s}
  w2:   {kind: tcp, connect: %q, framing: lines, tls: %s}
routes:
  - {pattern: balance, from: jobs, to: [w1, w2]}
`, e.tlsLineServer(t, "w1", nil), e.tlsConnect(), e.tlsLineServer(t, "w2", nil), e.tlsConnect())
		},
		run: func(t *testing.T, r *router.Router, e *tlsEnv) {
			const n = 400
			waitSecured(t, r, "w1", 1)
			waitSecured(t, r, "w2", 1)
			_, wire := numbered("job", n)
			io.WriteString(dial(t, r.Addr("jobs")), wire)
			waitFor(t, "every job sent", func() bool {
				s := r.Stats()
				return endpoint(s, "w1").MsgsOut+endpoint(s, "w2").MsgsOut == n
			})
			s := r.Stats()
			n1, n2 := endpoint(s, "w1").MsgsOut, endpoint(s, "w2").MsgsOut
			seen := map[string]bool{}
			for _, w := range []struct {
				name string
				n    uint64
			}{{"w1", n1}, {"w2", n2}} {
				for _, l := range e.received(t, w.name, int(w.n)) {
					if seen[l] {
						t.Fatalf("%q delivered twice", l)
					}
					seen[l] = true
				}
			}
			if len(seen) != n {
				t.Fatalf("%d distinct jobs arrived, want %d", len(seen), n)
			}
			delivered(t, r, map[string]uint64{"w1": n1, "w2": n2})
		},
	},
	{
		name: "request/tls-clients-answered-by-a-tls-worker",
		yaml: func(t *testing.T, e *tlsEnv) string {
			worker := e.tlsLineServer(t, "worker", func(l string) string { return "answer to " + l })
			return fmt.Sprintf(`
endpoints:
  clients: {kind: tcp, listen: "127.0.0.1:0", framing: lines, tls: %s}
  worker:  {kind: tcp, connect: %q, framing: lines, tls: %s}
routes:
  - {pattern: request, from: clients, to: worker}
`, e.tlsListen(), worker, e.tlsConnect())
		},
		run: func(t *testing.T, r *router.Router, e *tlsEnv) {
			const clients, requests = 4, 50
			waitSecured(t, r, "worker", 1)
			var wg sync.WaitGroup
			for c := range clients {
				conn := dialTLS(t, r.Addr("clients"), e.clientConfig())
				wg.Add(1)
				go func() {
					defer wg.Done()
					want, wire := numbered(fmt.Sprintf("client%d", c), requests)
					io.WriteString(conn, wire)
					rd := bufio.NewReader(conn)
					// One worker connection answers in order.
					for _, w := range want {
						l, err := rd.ReadString('\n')
						if err != nil || l != "answer to "+w+"\n" {
							t.Errorf("client %d: got %q (%v), want the answer to %q", c, l, err, w)
							return
						}
					}
				}()
			}
			wg.Wait()
			waitSecured(t, r, "clients", clients)
			delivered(t, r, map[string]uint64{"worker": clients * requests, "clients": clients * requests})
		},
	},
	{
		name: "merge/tls-and-plain-sources-into-a-tls-sink-whole-and-in-order",
		yaml: func(t *testing.T, e *tlsEnv) string {
			return fmt.Sprintf(`
endpoints:
  a:    {kind: tcp, listen: "127.0.0.1:0", framing: lines, tls: %s}
  b:    {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  sink: {kind: tcp, connect: %q, framing: lines, tls: %s}
routes:
  - {pattern: merge, from: [a, b], to: sink}
`, e.tlsListen(), e.tlsLineServer(t, "sink", nil), e.tlsConnect())
		},
		run: func(t *testing.T, r *router.Router, e *tlsEnv) {
			const n = 1000
			waitSecured(t, r, "sink", 1)
			sent := map[string][]string{}
			writers := map[string]io.Writer{
				"tls0":  dialTLS(t, r.Addr("a"), e.clientConfig()),
				"tls1":  dialTLS(t, r.Addr("a"), e.clientConfig()),
				"plain": dial(t, r.Addr("b")),
			}
			for who, w := range writers {
				lines, wire := numbered(who, n)
				sent[who] = lines
				go io.WriteString(w, wire)
			}
			inOrderPerSender(t, "the sink", e.received(t, "sink", 3*n), sent)
			delivered(t, r, map[string]uint64{"sink": 3 * n})
		},
	},
	{
		name: "tap/a-tls-tap-sees-everything-a-tls-room-carries",
		yaml: func(t *testing.T, e *tlsEnv) string {
			return fmt.Sprintf(`
endpoints:
  room:  {kind: tcp, listen: "127.0.0.1:0", framing: lines, tls: %s}
  watch: {kind: tcp, listen: "127.0.0.1:0", framing: lines, tls: %s}
routes:
  - {pattern: relay, members: room, tap: watch}
`, e.tlsListen(), e.tlsListen())
		},
		run: func(t *testing.T, r *router.Router, e *tlsEnv) {
			watch := bufio.NewReader(dialTLS(t, r.Addr("watch"), e.clientConfig()))
			waitSecured(t, r, "watch", 1)
			sent := relayRoom(t, r, e, []string{"room", "room"})
			inOrderPerSender(t, "the tap", readLines(t, watch, 2*50), sent)
			delivered(t, r, map[string]uint64{"room": 2 * 50, "watch": 2 * 50})
		},
	},
}

// relayRoom joins one member per endpoint in members (TLS where the
// endpoint's name is not "plain"), has each send 50 lines, and checks
// every member gets every other member's lines, whole and in order, and
// none of its own. It returns what each sent.
func relayRoom(t *testing.T, r *router.Router, e *tlsEnv, members []string) map[string][]string {
	t.Helper()
	const n = 50
	conns := make([]io.ReadWriter, len(members))
	count := map[string]int{}
	for i, ep := range members {
		if ep == "plain" {
			conns[i] = dial(t, r.Addr(ep))
		} else {
			conns[i] = dialTLS(t, r.Addr(ep), e.clientConfig())
		}
		count[ep]++
	}
	// A connection joins its routes once pxroute has finished its
	// handshake, which a TLS 1.3 client does not wait for: Active counts
	// it before that, Secured after.
	waitFor(t, "members", func() bool {
		s := r.Stats()
		for ep, k := range count {
			secured, _, _ := tlsFiguresOf(s, ep).counts()
			if endpoint(s, ep).Active != uint64(k) || ep != "plain" && secured != uint64(k) {
				return false
			}
		}
		return true
	})
	sent := map[string][]string{}
	for i, c := range conns {
		who := fmt.Sprintf("member%d", i)
		lines, wire := numbered(who, n)
		sent[who] = lines
		if _, err := io.WriteString(c, wire); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range conns {
		got := readLines(t, bufio.NewReader(c), (len(members)-1)*n)
		others := map[string][]string{}
		for who, l := range sent {
			if who != fmt.Sprintf("member%d", i) {
				others[who] = l
			}
		}
		inOrderPerSender(t, fmt.Sprintf("member %d", i), got, others)
	}
	for ep, k := range count {
		if ep != "plain" {
			waitSecured(t, r, ep, uint64(k))
		}
	}
	return sent
}

func TestTLSPatterns(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			for _, tc := range tlsPatternCases {
				t.Run(tc.name, func(t *testing.T) {
					e := &tlsEnv{pki: pki, cert: cert, key: key, addr: map[string]string{}, got: map[string]chan string{}}
					r := start(t, v, tc.yaml(t, e))
					logFiguresOnFailure(t, r)
					tc.run(t, r, e)
				})
			}
		})
	}
}

// logFiguresOnFailure logs r's endpoint figures if the test fails (before
// the router stops: cleanups run last first).
func logFiguresOnFailure(t *testing.T, r *router.Router) {
	t.Cleanup(func() {
		if t.Failed() {
			for _, e := range r.Stats().Endpoints {
				t.Logf("%s: %+v", e.Name, e)
			}
		}
	})
}
