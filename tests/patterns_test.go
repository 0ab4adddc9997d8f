package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// patternCase is one end-to-end behaviour of one pattern.
type patternCase struct {
	name string
	// yaml returns the topology; env has addresses of peers the case set up.
	yaml func(t *testing.T, env map[string]string) string
	run  func(t *testing.T, r *router.Router, env map[string]string)
}

var patternCases = []patternCase{
	{
		name: "relay/others-get-every-line-sender-gets-none",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: chat}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			const members, lines = 4, 50
			addr := r.Addr("chat")
			conns := make([]io.Writer, members)
			readers := make([]*bufio.Reader, members)
			for i := range conns {
				c := dial(t, addr)
				conns[i], readers[i] = c, bufio.NewReader(c)
			}
			waitFor(t, "members joined", func() bool { return endpoint(r.Stats(), "chat").Active == members })
			// Lines of growing length, so that a torn or interleaved line
			// shows up as a bad padding length.
			for i, w := range conns {
				var b strings.Builder
				for n := range lines {
					fmt.Fprintf(&b, "member %d line %d %s\n", i, n, strings.Repeat("x", n*7+1))
				}
				if _, err := io.WriteString(w, b.String()); err != nil {
					t.Fatal(err)
				}
			}
			for i, rd := range readers {
				next := map[int]int{}
				for _, l := range readLines(t, rd, (members-1)*lines) {
					var from, n int
					var pad string
					if _, err := fmt.Sscanf(l, "member %d line %d %s", &from, &n, &pad); err != nil || len(pad) != n*7+1 {
						t.Fatalf("member %d got a torn line %q", i, l)
					}
					if from == i {
						t.Fatalf("member %d got its own line %q", i, l)
					}
					if n != next[from] {
						t.Fatalf("member %d: from %d got line %d, want %d", i, from, n, next[from])
					}
					next[from]++
				}
			}
			// Figures are published once a loop turn: wait for them.
			waitFor(t, "stats to show every message", func() bool {
				s := endpoint(r.Stats(), "chat")
				return s.MsgsIn == members*lines && s.MsgsOut == members*lines*(members-1)
			})
		},
	},
	{
		name: "fanout/every-subscriber-gets-every-line-in-order",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: subs}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			const subs, lines = 5, 500
			var readers []*bufio.Reader
			for range subs {
				readers = append(readers, bufio.NewReader(dial(t, r.Addr("subs"))))
			}
			waitFor(t, "subscribers", func() bool { return endpoint(r.Stats(), "subs").Active == subs })
			pub := dial(t, r.Addr("pub"))
			var want []string
			var b strings.Builder
			for n := range lines {
				want = append(want, fmt.Sprintf("tick %d", n))
				b.WriteString(want[n] + "\n")
			}
			io.WriteString(pub, b.String())
			for i, rd := range readers {
				got := readLines(t, rd, lines)
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Fatalf("subscriber %d got a different sequence", i)
				}
			}
		},
	},
	{
		// A read holds many lines, which go to the group as runs (see
		// opcodes/batch.go), and publishers' runs share a turn's batch
		// to another loop: each subscriber still gets every line once, each
		// publisher's in order, in its own framing, and the figures count
		// every message.
		name: "fanout/reads-of-many-lines-reach-every-framing",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  pub:    {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs:   {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  framed: {kind: tcp, listen: "127.0.0.1:0", framing: length-prefix}
routes:
  - {pattern: fanout, from: pub, to: [subs, framed]}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			const subs, pubs, lines = 3, 4, 10000 // ~1 MB each: reads of up to a buffer
			line := func(p, n int) string {
				return fmt.Sprintf("publisher %d line %06d %s\n", p, n, strings.Repeat(".", 70))
			}
			// check takes the lines one subscriber got, in the order it got them.
			check := func(who string, next func() (string, error)) {
				var at [pubs]int
				for range pubs * lines {
					l, err := next()
					var p, n int
					if _, e := fmt.Sscanf(l, "publisher %d line %d", &p, &n); err != nil || e != nil || p < 0 || p >= pubs || l != line(p, at[p]) {
						t.Errorf("%s: got %q (%v) where publisher %d's line %d was due", who, l, err, p, at[min(max(p, 0), pubs-1)])
						return
					}
					at[p]++
				}
			}
			var readers []*bufio.Reader
			for range subs {
				readers = append(readers, bufio.NewReader(steady(dial(t, r.Addr("subs")))))
			}
			framed := steady(dial(t, r.Addr("framed")))
			waitFor(t, "subscribers", func() bool {
				s := r.Stats()
				return endpoint(s, "subs").Active == subs && endpoint(s, "framed").Active == 1
			})
			for p := range pubs {
				pub := dial(t, r.Addr("pub"))
				go func() {
					var b strings.Builder
					for n := range lines {
						b.WriteString(line(p, n))
					}
					io.WriteString(pub, b.String())
				}()
			}
			var wg sync.WaitGroup
			for i, rd := range readers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					check(fmt.Sprintf("subscriber %d", i), func() (string, error) { return rd.ReadString('\n') })
				}()
			}
			check("the framed subscriber", func() (string, error) { return string(readFrame(t, framed)) + "\n", nil })
			wg.Wait()
			if t.Failed() {
				return
			}
			waitFor(t, "the figures", func() bool {
				s := r.Stats()
				return endpoint(s, "subs").MsgsOut == subs*pubs*lines && endpoint(s, "framed").MsgsOut == pubs*lines
			})
			s := r.Stats()
			if p := endpoint(s, "pub"); p.MsgsIn != pubs*lines {
				t.Errorf("pub: read %d messages, want %d", p.MsgsIn, pubs*lines)
			}
			for name, want := range map[string]uint64{"subs": subs * pubs * lines, "framed": pubs * lines} {
				e := endpoint(s, name)
				dropped := uint64(0)
				for _, n := range e.Drops {
					dropped += n
				}
				if e.Offered != want || e.Queued != 0 || dropped != 0 {
					t.Errorf("%s: offered %d (want %d), queued %d, drops %v", name, e.Offered, want, e.Queued, e.Drops)
				}
			}
		},
	},
	{
		name: "bridge/both-ways-with-half-close",
		yaml: func(t *testing.T, env map[string]string) string {
			env["echo"] = echoServer(t)
			return fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0"}
  back:  {kind: tcp, connect: "%s"}
routes:
  - {pattern: bridge, from: front, to: back}
`, env["echo"])
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			// Several clients at once, each with its own upstream, each
			// sending more than one socket buffer, then half-closing.
			const clients = 4
			payload := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
			errs := make(chan error, clients)
			for i := range clients {
				c := dial(t, r.Addr("front"))
				go func() {
					go func() {
						c.Write(payload)
						c.CloseWrite()
					}()
					got, err := io.ReadAll(c)
					if err == nil && !bytes.Equal(got, payload) {
						err = fmt.Errorf("client %d: echoed %d bytes, want %d", i, len(got), len(payload))
					}
					errs <- err
				}()
			}
			for range clients {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "pairs closed", func() bool {
				s := r.Stats()
				return endpoint(s, "front").Active == 0 && endpoint(s, "back").Active == 0
			})
			// A raw bridge moves bytes by splice, never through user space.
			if ops := r.Stats().Ops; ops["splice"] == 0 || ops["recv"] != 0 || ops["send"] != 0 {
				t.Fatalf("splice %d, recv %d, send %d: want splice only", ops["splice"], ops["recv"], ops["send"])
			}
		},
	},
	{
		name: "file/raw-file-spliced-to-a-sink",
		yaml: func(t *testing.T, env map[string]string) string {
			path := filepath.Join(t.TempDir(), "blob")
			data := bytes.Repeat([]byte("0123456789abcdef"), 256<<10) // 4 MiB
			os.WriteFile(path, data, 0o644)
			s := newSink(t)
			sinks[t.Name()] = s
			env["size"] = fmt.Sprint(len(data))
			return fmt.Sprintf(`
endpoints:
  src: {kind: file, path: "%s"}
  dst: {kind: tcp, connect: "%s"}
routes:
  - {pattern: forward, from: src, to: dst}
`, path, s.addr)
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			got := sinks[t.Name()].next(t)
			if fmt.Sprint(len(got)) != env["size"] || !bytes.Equal(got[:32], []byte("0123456789abcdef0123456789abcdef")) {
				t.Fatalf("sink got %d bytes, want %s", len(got), env["size"])
			}
			// Spliced: no message took the copying path (the sink side
			// reads only to see its end, so recv may run there).
			// At least one chunk and the end; how many chunks depends on
			// the pipe size the kernel granted.
			if ops := r.Stats().Ops; ops["splice"] < 2 || ops["send"] != 0 {
				t.Fatalf("splice %d, send %d: want the file spliced, no copying", ops["splice"], ops["send"])
			}
		},
	},
	{
		name: "forward/one-way-to-a-sink",
		yaml: func(t *testing.T, env map[string]string) string {
			s := newSink(t)
			sinks[t.Name()] = s
			return fmt.Sprintf(`
endpoints:
  in:  {kind: tcp, listen: "127.0.0.1:0"}
  out: {kind: tcp, connect: "%s"}
routes:
  - {pattern: forward, from: in, to: out}
`, s.addr)
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			payload := bytes.Repeat([]byte("forward "), 100000)
			c := dial(t, r.Addr("in"))
			c.Write(payload)
			c.CloseWrite()
			if got := sinks[t.Name()].next(t); !bytes.Equal(got, payload) {
				t.Fatalf("sink got %d bytes, want %d", len(got), len(payload))
			}
		},
	},
	{
		name: "echo/length-prefixed-frames-come-back-whole",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  e: {kind: tcp, listen: "127.0.0.1:0", framing: length-prefix, max_frame: 4MiB}
routes:
  - {pattern: echo, members: e}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			c := dial(t, r.Addr("e"))
			sizes := []int{0, 1, 7, 8, 9, 4096, 65535, 65536, 65537, 1 << 20, 3 << 20}
			go func() {
				for _, n := range sizes {
					c.Write(frame(bytes.Repeat([]byte{byte(n)}, n)))
				}
			}()
			for _, n := range sizes {
				got := readFrame(t, c)
				if !bytes.Equal(got, bytes.Repeat([]byte{byte(n)}, n)) {
					t.Fatalf("frame of %d came back as %d bytes", n, len(got))
				}
			}
		},
	},
	{
		name: "tap/relay-transcript-in-a-file",
		yaml: func(t *testing.T, env map[string]string) string {
			env["log"] = filepath.Join(t.TempDir(), "transcript.log")
			return fmt.Sprintf(`
endpoints:
  room: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  log:  {kind: file, path: "%s", mode: append, framing: lines}
routes:
  - {pattern: relay, members: room, tap: log}
`, env["log"])
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			a, b := dial(t, r.Addr("room")), dial(t, r.Addr("room"))
			waitFor(t, "members", func() bool { return endpoint(r.Stats(), "room").Active == 2 })
			io.WriteString(a, "from a\n")
			readLines(t, bufio.NewReader(b), 1)
			io.WriteString(b, "from b\r\n")
			readLines(t, bufio.NewReader(a), 1)
			// Same framing on both sides: the wire bytes pass unchanged,
			// CRLF included.
			var got []byte
			waitFor(t, "transcript", func() bool {
				got, _ = os.ReadFile(env["log"])
				return bytes.Count(got, []byte("\n")) == 2
			})
			lines := strings.SplitAfter(string(got), "\n")[:2]
			sort.Strings(lines)
			if lines[0] != "from a\n" || lines[1] != "from b\r\n" {
				t.Fatalf("transcript %q", got)
			}
		},
	},
	{
		name: "file/read-a-file-to-a-sink-then-idle",
		yaml: func(t *testing.T, env map[string]string) string {
			path := filepath.Join(t.TempDir(), "in.txt")
			data := bytes.Repeat([]byte("a line of the file\n"), 50000) // ~950 KB
			os.WriteFile(path, data, 0o644)
			s := newSink(t)
			sinks[t.Name()] = s
			env["size"] = fmt.Sprint(len(data))
			return fmt.Sprintf(`
endpoints:
  src: {kind: file, path: "%s", framing: lines}
  dst: {kind: tcp, connect: "%s", framing: lines}
routes:
  - {pattern: forward, from: src, to: dst}
`, path, s.addr)
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			got := sinks[t.Name()].next(t)
			if fmt.Sprint(len(got)) != env["size"] {
				t.Fatalf("sink got %d bytes, want %s", len(got), env["size"])
			}
			select {
			case <-r.Idle():
			case <-timeoutC():
				t.Fatal("router not idle after the file was copied")
			}
		},
	},
	{
		name: "unix/bridge-from-a-unix-socket-to-tcp",
		yaml: func(t *testing.T, env map[string]string) string {
			env["sock"] = filepath.Join(t.TempDir(), "front.sock")
			return fmt.Sprintf(`
endpoints:
  front: {kind: unix, listen: "%s", framing: lines}
  back:  {kind: tcp, connect: "%s", framing: lines}
routes:
  - {pattern: bridge, from: front, to: back}
`, env["sock"], echoServer(t))
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			c, err := net.Dial("unix", env["sock"])
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(ioTimeout))
			io.WriteString(c, "over unix\n")
			if got := readLines(t, bufio.NewReader(c), 1)[0]; got != "over unix" {
				t.Fatalf("got %q", got)
			}
		},
	},
}

// sinks passes a case's sink from its yaml step to its run step.
var sinks = map[string]*sink{}

func TestPatterns(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			for _, tc := range patternCases {
				t.Run(tc.name, func(t *testing.T) {
					env := map[string]string{}
					r := start(t, v, tc.yaml(t, env))
					tc.run(t, r, env)
				})
			}
		})
	}
}
