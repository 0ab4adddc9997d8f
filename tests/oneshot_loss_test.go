package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// Issue 16, item 12. A one-shot run whose server was down exited 0 with
// the refusal logged only at debug; and a connect endpoint pxroute opens
// itself joined its routes only once its first connection was made, so
// what arrived before was dropped although the topology said it queues.

// A run that ends by itself having lost messages (or failed to connect)
// exits 3 and says at warn which endpoint lost what and why; a run that
// delivered everything still exits 0 and warns of nothing.
func TestOneshotLossExitsNonZeroAndSaysWhy(t *testing.T) {
	cases := []struct {
		name   string
		server bool // a sink listens at out's address
		code   int
	}{
		{"server-down-exits-3-and-warns-of-the-refusal-and-the-loss", false, 3},
		{"everything-delivered-exits-0-without-warnings", true, 0},
	}
	const payload = "one\ntwo\n"
	summary := regexp.MustCompile(`msg=stopped received=(\d+) delivered=(\d+) undelivered=(\d+) dropped=(\d+)`)
	lostLine := regexp.MustCompile(`level=WARN msg="messages lost" endpoint=(\S+) dropped=(\d+)`)
	for _, v := range variants() {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				if err := router.EngineUnavailable(v.engine); err != nil {
					t.Skipf("%s cannot run on this machine: %v", v.engine, err)
				}
				addr := freePort(t) // nobody listens there unless tc.server
				var s *sink
				if tc.server {
					s = newSink(t)
					addr = s.addr
				}
				topo := writeFile(t, "fwd.yaml", fmt.Sprintf(`
endpoints:
  in:  {kind: stdin, framing: lines}
  out: {kind: tcp, connect: "%s", framing: lines}
routes:
  - {pattern: forward, from: in, to: out}
`, addr))
				_, errOut, code := runCLI(t, strings.NewReader(payload), "run", topo,
					"--engine", v.engine, "--loops", strconv.Itoa(v.loops))
				if code != tc.code {
					t.Fatalf("exit %d, want %d\n%s", code, tc.code, errOut)
				}
				if tc.server {
					if got := s.next(t); string(got) != payload {
						t.Fatalf("sink got %q, want %q", got, payload)
					}
					if strings.Contains(errOut, "level=WARN") {
						t.Fatalf("a clean run warned:\n%s", errOut)
					}
					return
				}
				// The refusal, at warn, naming the endpoint and its address.
				refusal := false
				for _, line := range strings.Split(errOut, "\n") {
					if strings.Contains(line, "level=WARN") && strings.Contains(line, "endpoint=out") &&
						strings.Contains(line, "addr="+addr) && strings.Contains(line, "connection refused") {
						refusal = true
					}
				}
				if !refusal {
					t.Errorf("no warn line naming endpoint out, addr=%s and the refusal:\n%s", addr, errOut)
				}
				// What was lost, per endpoint and reason, adds up to the
				// summary's dropped.
				m := summary.FindStringSubmatch(errOut)
				if m == nil {
					t.Fatalf("no stop summary:\n%s", errOut)
				}
				dropped, _ := strconv.ParseUint(m[4], 10, 64)
				var perEndpoint uint64
				for _, l := range lostLine.FindAllStringSubmatch(errOut, -1) {
					n, _ := strconv.ParseUint(l[2], 10, 64)
					perEndpoint += n
				}
				if perEndpoint != dropped {
					t.Errorf("warn lines account for %d lost, the summary says dropped=%d:\n%s", perEndpoint, dropped, errOut)
				}
			})
		}
	}
}

// A connect sink pxroute opens itself holds its place in its route from
// the start: what arrives before its collector first listens is queued,
// and delivered once it does; the retries before that first connection
// are logged once, as "connecting", naming the endpoint and its address.
func TestLateCollectorGetsWhatCameBefore(t *testing.T) {
	const n = 20
	cases := []struct {
		name string
		yaml string // %s: the collector's address
		src  string // the endpoint messages come from
		send func(t *testing.T, r *router.Router, lines []string)
	}{
		{
			name: "udp-datagrams-fanned-out-to-a-tcp-collector",
			src:  "syslog",
			yaml: `
endpoints:
  syslog:    {kind: udp, listen: "127.0.0.1:0", max_frame: 8KiB}
  collector: {kind: tcp, connect: "%s", framing: lines, high_water: 4MiB, overflow: drop-oldest,
              reconnect_initial: 10ms, reconnect_max: 40ms}
routes:
  - {pattern: fanout, from: syslog, to: collector}
`,
			send: func(t *testing.T, r *router.Router, lines []string) {
				c, err := net.Dial("udp", r.Addr("syslog"))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				for _, l := range lines {
					if _, err := io.WriteString(c, l); err != nil {
						t.Fatal(err)
					}
				}
			},
		},
		{
			name: "tcp-lines-merged-into-a-tcp-collector",
			src:  "in",
			yaml: `
endpoints:
  in:        {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  collector: {kind: tcp, connect: "%s", framing: lines, reconnect_initial: 10ms, reconnect_max: 40ms}
routes:
  - {pattern: merge, from: in, to: collector}
`,
			send: func(t *testing.T, r *router.Router, lines []string) {
				c := dial(t, r.Addr("in"))
				io.WriteString(c, strings.Join(lines, "\n")+"\n")
			},
		},
	}
	for _, v := range variants() {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				addr := freePort(t) // the collector is not there yet
				logs := new(lockedBuffer)
				r := startLogging(t, v, fmt.Sprintf(tc.yaml, addr), logs)
				waitFor(t, "refused attempts", func() bool { return errorsOf(r.Stats(), "collector") >= 2 })

				lines := make([]string, n)
				for i := range lines {
					lines[i] = fmt.Sprintf("before the collector %02d", i)
				}
				tc.send(t, r, lines)
				waitFor(t, "every message routed", func() bool {
					s := r.Stats()
					return endpoint(s, "collector").Offered+endpoint(s, tc.src).Drops["no_route"] >= n
				})
				s := r.Stats()
				if c, src := endpoint(s, "collector"), endpoint(s, tc.src); c.Offered != n || c.Queued != n || src.Drops["no_route"] != 0 {
					t.Fatalf("before the first connection: collector offered %d, queued %d; %s dropped %d as no_route; want %d queued, none dropped",
						c.Offered, c.Queued, tc.src, src.Drops["no_route"], n)
				}

				ln, err := net.Listen("tcp", addr)
				if err != nil {
					t.Fatalf("listen on %s: %v", addr, err)
				}
				defer ln.Close()
				got := readLines(t, bufio.NewReader(accept(t, ln)), n)
				for i := range lines {
					if got[i] != lines[i] {
						t.Fatalf("line %d: got %q, want %q", i, got[i], lines[i])
					}
				}
				// Stats is not one atomic snapshot: wait until the figures
				// settle, then check that they add up.
				waitFor(t, "the collector's count", func() bool {
					c := endpoint(r.Stats(), "collector")
					return c.MsgsOut == n && c.Queued == 0
				})
				c := endpoint(r.Stats(), "collector")
				var drops uint64
				for _, d := range c.Drops {
					drops += d
				}
				if c.Offered != c.MsgsOut+drops+uint64(c.Queued) || drops != 0 {
					t.Fatalf("collector: offered %d != delivered %d + dropped %d + queued %d, or drops", c.Offered, c.MsgsOut, drops, c.Queued)
				}

				// One warn line for the whole episode of refused attempts.
				var warned []string
				for _, line := range strings.Split(logs.String(), "\n") {
					if strings.Contains(line, "level=WARN") && strings.Contains(line, "endpoint=collector") {
						warned = append(warned, line)
					}
				}
				if len(warned) != 1 || !strings.Contains(warned[0], "msg=connecting") || !strings.Contains(warned[0], "addr="+addr) {
					t.Fatalf("want one warn line, msg=connecting with addr=%s, over %d attempts; got %d:\n%s",
						addr, errorsOf(r.Stats(), "collector"), len(warned), strings.Join(warned, "\n"))
				}
				t.Logf("%d refused attempts, 1 warn line; collector: offered %d = delivered %d + dropped %d + queued %d",
					errorsOf(r.Stats(), "collector"), c.Offered, c.MsgsOut, drops, c.Queued)
			})
		}
	}
}

// Failed attempts to connect, from the first to the next success, are one
// episode: one warn line naming the endpoint and its address, however many
// attempts it takes, and the success that ends it at info.
func TestConnectEpisodesLoggedOnce(t *testing.T) {
	cases := []struct {
		name string
		yaml string // %s: the address connected to
		// act makes an episode of several failures at addr, where first
		// listens; a listener it returns listens there again.
		act  func(t *testing.T, r *router.Router, addr string, first net.Listener) net.Listener
		warn string // the episode's warn line's msg
		info bool   // an endpoint pxroute opens: its episode's end is logged at info
	}{
		{
			name: "a-lost-sink-reconnecting",
			yaml: `
endpoints:
  in:   {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  out:  {kind: tcp, connect: "%s", framing: lines, reconnect_initial: 10ms, reconnect_max: 40ms}
routes:
  - {pattern: fanout, from: in, to: out}
`,
			act: func(t *testing.T, r *router.Router, addr string, ln net.Listener) net.Listener {
				c := accept(t, ln)
				waitFor(t, "the sink connected", func() bool { return endpoint(r.Stats(), "out").Active == 1 })
				ln.Close()
				c.Close()
				waitFor(t, "refused reconnects", func() bool { return errorsOf(r.Stats(), "out") >= 3 })
				ln2, err := net.Listen("tcp", addr)
				if err != nil {
					t.Fatalf("listen again on %s: %v", addr, err)
				}
				accept(t, ln2)
				return ln2
			},
			warn: `msg="connection lost, reconnecting"`,
			info: true,
		},
		{
			name: "a-bridge-upstream-refusing-every-client",
			yaml: `
endpoints:
  in:  {kind: tcp, listen: "127.0.0.1:0"}
  out: {kind: tcp, connect: "%s"}
routes:
  - {pattern: bridge, from: in, to: out}
`,
			act: func(t *testing.T, r *router.Router, addr string, ln net.Listener) net.Listener {
				ln.Close() // nobody there
				for i := range 4 {
					c := dial(t, r.Addr("in"))
					if _, err := io.ReadAll(c); err != nil && !isReset(err) {
						t.Fatalf("client %d: %v", i, err)
					}
				}
				waitFor(t, "every refusal counted", func() bool { return errorsOf(r.Stats(), "out") == 4 })
				return nil
			},
			warn: `msg="connect failed"`,
		},
	}
	for _, v := range variants() {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				addr := ln.Addr().String()
				logs := new(lockedBuffer)
				r := startLogging(t, v, fmt.Sprintf(tc.yaml, addr), logs)
				if ln2 := tc.act(t, r, addr, ln); ln2 != nil {
					defer ln2.Close()
				}
				var warned, infos []string
				scan := func() {
					warned, infos = nil, nil
					for _, line := range strings.Split(logs.String(), "\n") {
						switch {
						case !strings.Contains(line, "endpoint=out"):
						case strings.Contains(line, "level=WARN"):
							warned = append(warned, line)
						case strings.Contains(line, "level=INFO msg=connected"):
							infos = append(infos, line)
						}
					}
				}
				checkWarned := func() {
					t.Helper()
					// A dialled endpoint's episodes are per loop: at most
					// one warn line on each. An opened one has one conn.
					most := 1
					if !tc.info {
						most = v.loops
					}
					if len(warned) < 1 || len(warned) > most {
						t.Fatalf("want 1 to %d warn lines over %d failures; got %d:\n%s", most, errorsOf(r.Stats(), "out"), len(warned), strings.Join(warned, "\n"))
					}
					for _, w := range warned {
						if !strings.Contains(w, tc.warn) || !strings.Contains(w, "addr="+addr) {
							t.Fatalf("warn line lacks %s or addr=%s: %s", tc.warn, addr, w)
						}
					}
				}
				scan()
				checkWarned()
				if tc.info {
					// The peer's accept can return before the loop has
					// handled the connect's completion.
					waitFor(t, "the episode's end logged", func() bool { scan(); return len(infos) > 0 })
					checkWarned()
					if len(infos) != 1 {
						t.Fatalf("want one info line when the episode ends; got %d", len(infos))
					}
				}
				t.Logf("%d failed attempts, %d warn lines, %d info lines", errorsOf(r.Stats(), "out"), len(warned), len(infos))
			})
		}
	}
}
