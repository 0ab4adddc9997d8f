package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/router"
)

// Cases for the endpoint kinds beyond tcp and unix streams, and for the
// framings; TestPatterns runs them over every engine and loop count.
func init() {
	patternCases = append(patternCases, zooCases...)
}

// shortDir is a temporary directory with a path short enough for unix
// socket names (108 bytes), which t.TempDir's long names can pass.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "px")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

var abstractSeq atomic.Int64

// udpPeer is a Go UDP socket that collects datagrams.
func udpPeer(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readDatagrams reads n datagrams from c.
func readDatagrams(t *testing.T, c net.PacketConn, n int) []string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	buf := make([]byte, 1<<16)
	var out []string
	for len(out) < n {
		k, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d datagrams: %v", len(out), err)
		}
		out = append(out, string(buf[:k]))
	}
	return out
}

var zooCases = []patternCase{
	{
		name: "udp/datagrams-fanned-out-as-lines",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  in:   {kind: udp, listen: "127.0.0.1:0", max_frame: 1000}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: in, to: subs}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			sub := dial(t, r.Addr("subs"))
			waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "subs").Active == 1 })
			out, err := net.Dial("udp", r.Addr("in"))
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			const n = 50
			for i := range n {
				if i == n/2 {
					// Over max_frame: this datagram alone is dropped.
					out.Write(bytes.Repeat([]byte("x"), 2000))
				}
				fmt.Fprintf(out, "datagram %d", i)
				if i%10 == 9 {
					time.Sleep(time.Millisecond) // no flood: loopback UDP may drop one
				}
			}
			for i, l := range readLines(t, bufio.NewReader(sub), n) {
				if want := fmt.Sprintf("datagram %d", i); l != want {
					t.Fatalf("line %d: %q, want %q", i, l, want)
				}
			}
			waitFor(t, "the oversized datagram counted", func() bool {
				return endpoint(r.Stats(), "in").Lost["max_frame"] == 1
			})
		},
	},
	{
		name: "udp/connect-sends-one-datagram-per-line",
		yaml: func(t *testing.T, env map[string]string) string {
			peer := udpPeer(t)
			udpPeers[t.Name()] = peer
			return fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_frame: 128KiB}
  out:   {kind: udp, connect: "%s"}
routes:
  - {pattern: forward, from: front, to: out}
`, peer.LocalAddr())
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			peer := udpPeers[t.Name()]
			c := dial(t, r.Addr("front"))
			var b strings.Builder
			for i := range 20 {
				fmt.Fprintf(&b, "line %d\n", i)
				if i == 10 {
					b.WriteString(strings.Repeat("y", 70000) + "\n") // no datagram holds it
				}
			}
			io.WriteString(c, b.String())
			for i, d := range readDatagrams(t, peer, 20) {
				if want := fmt.Sprintf("line %d", i); d != want {
					t.Fatalf("datagram %d: %q, want %q", i, d, want)
				}
			}
			waitFor(t, "the oversized line counted", func() bool {
				return endpoint(r.Stats(), "out").Drops["max_frame"] == 1
			})
		},
	},
	{
		name: "ipv6/tcp-and-udp-over-::1",
		yaml: func(t *testing.T, env map[string]string) string {
			if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
				t.Skipf("no IPv6 loopback on this machine: %v", err)
			} else {
				ln.Close()
			}
			return `
endpoints:
  e6:  {kind: tcp, listen: "[::1]:0", framing: lines}
  u6:  {kind: udp, listen: "[::1]:0"}
  sub: {kind: tcp, listen: "[::1]:0", framing: lines}
routes:
  - {pattern: echo, members: e6}
  - {pattern: fanout, from: u6, to: sub}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			c := dial(t, r.Addr("e6"))
			io.WriteString(c, "over six\n")
			if got := readLines(t, bufio.NewReader(c), 1)[0]; got != "over six" {
				t.Fatalf("got %q", got)
			}
			sub := dial(t, r.Addr("sub"))
			waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "sub").Active == 1 })
			u, err := net.Dial("udp6", r.Addr("u6"))
			if err != nil {
				t.Fatal(err)
			}
			defer u.Close()
			io.WriteString(u, "datagram over six")
			if got := readLines(t, bufio.NewReader(sub), 1)[0]; got != "datagram over six" {
				t.Fatalf("got %q", got)
			}
		},
	},
	{
		name: "udp/connect-survives-port-unreachable",
		yaml: func(t *testing.T, env map[string]string) string {
			probe := udpPeer(t)
			env["addr"] = probe.LocalAddr().String()
			probe.Close() // nothing listens there: sends draw ICMP port unreachable
			return fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  out:   {kind: udp, connect: "%s"}
routes:
  - {pattern: fanout, from: front, to: out}
`, env["addr"])
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			waitFor(t, "the udp socket", func() bool { return endpoint(r.Stats(), "out").Active == 1 })
			c := dial(t, r.Addr("front"))
			for i := range 5 {
				fmt.Fprintf(c, "into the void %d\n", i)
				time.Sleep(2 * time.Millisecond)
			}
			waitFor(t, "the lost datagrams sent", func() bool { return endpoint(r.Stats(), "out").MsgsOut == 5 })
			a, _ := net.ResolveUDPAddr("udp", env["addr"])
			peer, err := net.ListenUDP("udp", a)
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			fmt.Fprintf(c, "heard\n")
			if got := readDatagrams(t, peer, 1)[0]; got != "heard" {
				t.Fatalf("got %q", got)
			}
			s := r.Stats()
			if endpoint(s, "out").Opened != 1 || errorsOf(s, "out") != 0 {
				t.Fatalf("the udp socket was reopened (%d opens) or failed (%d errors)", endpoint(s, "out").Opened, errorsOf(s, "out"))
			}
		},
	},
	{
		name: "unix-datagram/bound-socket-forwards-to-a-connected-one",
		yaml: func(t *testing.T, env map[string]string) string {
			dir := shortDir(t)
			env["in"], env["out"] = filepath.Join(dir, "in"), filepath.Join(dir, "out")
			peer, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: env["out"], Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { peer.Close() })
			unixPeers[t.Name()] = peer
			return fmt.Sprintf(`
endpoints:
  in:  {kind: unix, type: datagram, listen: "%s"}
  out: {kind: unix, type: datagram, connect: "%s"}
routes:
  - {pattern: forward, from: in, to: out}
`, env["in"], env["out"])
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			c, err := net.Dial("unixgram", env["in"])
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			waitFor(t, "the connected socket", func() bool { return endpoint(r.Stats(), "out").Active == 1 })
			for i := range 10 {
				fmt.Fprintf(c, "dgram %d", i)
			}
			for i, d := range readDatagrams(t, unixPeers[t.Name()], 10) {
				if want := fmt.Sprintf("dgram %d", i); d != want {
					t.Fatalf("datagram %d: %q, want %q", i, d, want)
				}
			}
		},
	},
	{
		name: "unix/abstract-namespace-echo",
		yaml: func(t *testing.T, env map[string]string) string {
			env["addr"] = fmt.Sprintf("@pxroute-test-%d-%d", os.Getpid(), abstractSeq.Add(1))
			return fmt.Sprintf(`
endpoints:
  e: {kind: unix, listen: "%s", framing: lines}
routes:
  - {pattern: echo, members: e}
`, env["addr"])
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			c, err := net.Dial("unix", env["addr"])
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(ioTimeout))
			io.WriteString(c, "no file\n")
			if got := readLines(t, bufio.NewReader(c), 1)[0]; got != "no file" {
				t.Fatalf("got %q", got)
			}
		},
	},
	{
		name: "unix/socket-file-mode-and-owner",
		yaml: func(t *testing.T, env map[string]string) string {
			env["sock"] = filepath.Join(shortDir(t), "s")
			return fmt.Sprintf(`
endpoints:
  e: {kind: unix, listen: "%s", framing: lines, mode: "0600", owner: "%d:%d"}
routes:
  - {pattern: echo, members: e}
`, env["sock"], os.Getuid(), os.Getgid())
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			fi, err := os.Stat(env["sock"])
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
				t.Fatalf("socket file mode %v, want a socket with 0600", fi.Mode())
			}
		},
	},
	{
		name: "framings/echo-keeps-every-framing's-bytes",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  delim: {kind: tcp, listen: "127.0.0.1:0", framing: delimiter, delimiter: "\r\n\r\n"}
  be16:  {kind: tcp, listen: "127.0.0.1:0", framing: length-prefix, length_bytes: 2, length_order: big, length_includes_header: true}
  keep:  {kind: tcp, listen: "127.0.0.1:0", framing: lines, strip: false}
routes:
  - {pattern: echo, members: [delim, be16, keep]}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			for _, tc := range []struct{ ep, wire string }{
				{"delim", "GET / HTTP/1.0\r\nHost: x\r\n\r\nsecond\r\n\r\n"},
				{"be16", "\x00\x05abc\x00\x02\x00\x04hi"},
				{"keep", "crlf\r\nlf\n\n"},
			} {
				c := dial(t, r.Addr(tc.ep))
				io.WriteString(c, tc.wire)
				got := make([]byte, len(tc.wire))
				if _, err := io.ReadFull(c, got); err != nil {
					t.Fatalf("%s: %v", tc.ep, err)
				}
				if string(got) != tc.wire {
					t.Fatalf("%s echoed %q, want %q", tc.ep, got, tc.wire)
				}
			}
			waitFor(t, "messages counted", func() bool {
				s := r.Stats()
				return endpoint(s, "delim").MsgsIn == 2 && endpoint(s, "be16").MsgsIn == 3 && endpoint(s, "keep").MsgsIn == 3
			})
		},
	},
	{
		name: "framings/lines-to-a-one-byte-length-prefix",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  pub: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  sub: {kind: tcp, listen: "127.0.0.1:0", framing: length-prefix, length_bytes: 1}
routes:
  - {pattern: fanout, from: pub, to: sub}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			sub := dial(t, r.Addr("sub"))
			waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "sub").Active == 1 })
			pub := dial(t, r.Addr("pub"))
			io.WriteString(pub, "short\n"+strings.Repeat("z", 300)+"\nafter\n")
			want := "\x05short\x05after"
			got := make([]byte, len(want))
			if _, err := io.ReadFull(sub, got); err != nil {
				t.Fatal(err)
			}
			if string(got) != want {
				t.Fatalf("got %q, want %q", got, want)
			}
			waitFor(t, "the 300-byte line counted at the subscriber", func() bool {
				return endpoint(r.Stats(), "sub").Drops["max_frame"] == 1
			})
		},
	},
	{
		name: "file/follow-sees-appends-truncation-and-rotation",
		yaml: func(t *testing.T, env map[string]string) string {
			env["log"] = filepath.Join(t.TempDir(), "app.log")
			if err := os.WriteFile(env["log"], []byte("before the router started\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf(`
endpoints:
  log:  {kind: file, path: "%s", mode: follow, poll: 5ms, framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: log, to: subs}
`, env["log"])
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			sub := bufio.NewReader(dial(t, r.Addr("subs")))
			waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "subs").Active == 1 })
			appendTo := func(path, s string) {
				f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				f.WriteString(s)
			}
			expect := func(want string) {
				t.Helper()
				if got := readLines(t, sub, 1)[0]; got != want {
					t.Fatalf("got %q, want %q", got, want)
				}
			}
			appendTo(env["log"], "appended\n")
			expect("appended") // and not the line from before the start
			if err := os.Truncate(env["log"], 0); err != nil {
				t.Fatal(err)
			}
			appendTo(env["log"], "after truncation\n")
			expect("after truncation")
			if err := os.Rename(env["log"], env["log"]+".1"); err != nil {
				t.Fatal(err)
			}
			appendTo(env["log"]+".1", "last line of the old file\n")
			appendTo(env["log"], "first line of the new file\n")
			expect("last line of the old file")
			expect("first line of the new file")
		},
	},
	{
		name: "file/follow-waits-for-the-file-to-appear",
		yaml: func(t *testing.T, env map[string]string) string {
			env["log"] = filepath.Join(t.TempDir(), "later.log")
			return fmt.Sprintf(`
endpoints:
  log:  {kind: file, path: "%s", mode: follow, poll: 5ms, framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: log, to: subs}
`, env["log"])
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			sub := bufio.NewReader(dial(t, r.Addr("subs")))
			waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "subs").Active == 1 })
			if err := os.WriteFile(env["log"], []byte("first\nsecond\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := readLines(t, sub, 2); got[0] != "first" || got[1] != "second" {
				t.Fatalf("got %q", got)
			}
		},
	},
	{
		name: "file/reopen-writes-to-a-fresh-file-after-rotation",
		yaml: func(t *testing.T, env map[string]string) string {
			env["log"] = filepath.Join(t.TempDir(), "out.log")
			return fmt.Sprintf(`
endpoints:
  in:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  log: {kind: file, path: "%s", mode: append, framing: lines}
routes:
  - {pattern: fanout, from: in, to: log}
`, env["log"])
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			in := dial(t, r.Addr("in"))
			fileHas := func(path, want string) {
				t.Helper()
				waitFor(t, path+" to hold "+want, func() bool {
					b, _ := os.ReadFile(path)
					return string(b) == want
				})
			}
			waitFor(t, "the file open", func() bool { return endpoint(r.Stats(), "log").Active == 1 })
			io.WriteString(in, "before\n")
			fileHas(env["log"], "before\n")
			if err := os.Rename(env["log"], env["log"]+".1"); err != nil {
				t.Fatal(err)
			}
			if err := r.Reopen(); err != nil {
				t.Fatal(err)
			}
			io.WriteString(in, "after\n")
			fileHas(env["log"], "after\n")
			fileHas(env["log"]+".1", "before\n")
		},
	},
	{
		name: "fifo/read-one-named-pipe-write-another",
		yaml: func(t *testing.T, env map[string]string) string {
			dir := t.TempDir()
			env["in"], env["out"] = filepath.Join(dir, "in"), filepath.Join(dir, "out")
			return fmt.Sprintf(`
endpoints:
  in:  {kind: fifo, path: "%s", framing: lines}
  out: {kind: fifo, path: "%s", mode: write, framing: lines}
routes:
  - {pattern: forward, from: in, to: out}
`, env["in"], env["out"])
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			// Both are made by the router and open read-write, so neither
			// open below blocks.
			waitFor(t, "both fifos open", func() bool {
				s := r.Stats()
				return endpoint(s, "in").Active == 1 && endpoint(s, "out").Active == 1
			})
			out, err := os.OpenFile(env["out"], os.O_RDONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			for round := range 2 {
				// A writer that comes and goes does not end the stream.
				in, err := os.OpenFile(env["in"], os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(in, "writer %d\n", round)
				in.Close()
			}
			out.SetReadDeadline(time.Now().Add(ioTimeout))
			got := readLines(t, bufio.NewReader(out), 2)
			if got[0] != "writer 0" || got[1] != "writer 1" {
				t.Fatalf("got %q", got)
			}
		},
	},
	{
		name: "exec/a-line-service-answers-each-client",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  clients: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  service:
    kind: exec
    command: [sh, -c, 'while IFS= read -r l; do printf "%s!\n" "$l"; done']
    framing: lines
routes:
  - {pattern: request, from: clients, to: service}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			waitFor(t, "the child", func() bool { return endpoint(r.Stats(), "service").Active == 1 })
			var conns []*net.TCPConn
			for range 3 {
				conns = append(conns, dial(t, r.Addr("clients")))
			}
			for round := range 5 {
				for i, c := range conns {
					fmt.Fprintf(c, "client %d asks %d\n", i, round)
				}
			}
			for i, c := range conns {
				rd := bufio.NewReader(c)
				for round, l := range readLines(t, rd, 5) {
					if want := fmt.Sprintf("client %d asks %d!", i, round); l != want {
						t.Fatalf("client %d got %q, want %q", i, l, want)
					}
				}
			}
		},
	},
	{
		name: "exec/one-child-per-client-reaped-when-it-leaves",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0"}
  cat:   {kind: exec, command: [cat]}
routes:
  - {pattern: bridge, from: front, to: cat}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			before := len(childPIDs(t, "cat"))
			var conns []*net.TCPConn
			for i := range 3 {
				c := dial(t, r.Addr("front"))
				fmt.Fprintf(c, "client %d", i)
				conns = append(conns, c)
			}
			for i, c := range conns {
				want := fmt.Sprintf("client %d", i)
				got := make([]byte, len(want))
				if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
					t.Fatalf("client %d: %q, %v", i, got, err)
				}
			}
			if n := len(childPIDs(t, "cat")) - before; n != 3 {
				t.Fatalf("%d children for 3 clients", n)
			}
			for _, c := range conns {
				c.Close()
			}
			waitFor(t, "every child reaped", func() bool { return len(childPIDs(t, "cat")) == before })
		},
	},
	{
		name: "exec/restart-always-keeps-the-connection",
		yaml: func(t *testing.T, env map[string]string) string {
			// Each child answers one line, then exits 0; restart: always
			// starts the next on the same socket pair. ($$$$ is the
			// shell's $$, its pid: a topology writes a $ as $$.)
			return `
endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  once:
    kind: exec
    command: [sh, -c, 'IFS= read -r l; echo "pid $$$$ got $l"; echo "exiting" >&2']
    restart: always
    restart_delay: 10ms
    framing: lines
  out: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: merge, from: in, to: once}
  - {pattern: fanout, from: once, to: out}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			out := bufio.NewReader(dial(t, r.Addr("out")))
			waitFor(t, "subscriber and child", func() bool {
				s := r.Stats()
				return endpoint(s, "out").Active == 1 && endpoint(s, "once").Active == 1
			})
			in := dial(t, r.Addr("in"))
			pids := map[string]bool{}
			for i := range 3 {
				fmt.Fprintf(in, "line %d\n", i)
				l := readLines(t, out, 1)[0]
				var pid, n int
				if _, err := fmt.Sscanf(l, "pid %d got line %d", &pid, &n); err != nil || n != i {
					t.Fatalf("got %q after line %d", l, i)
				}
				pids[fmt.Sprint(pid)] = true
			}
			if len(pids) != 3 {
				t.Fatalf("3 lines were answered by %d children, want 3 (one each)", len(pids))
			}
			if s := endpoint(r.Stats(), "once"); s.Opened != 1 {
				t.Fatalf("the exec endpoint was opened %d times; restarts should keep its one connection", s.Opened)
			}
		},
	},
	{
		name: "device/serial-port-shared-by-tcp-clients",
		yaml: func(t *testing.T, env map[string]string) string {
			master, slave := ptyPair(t)
			ptyMasters[t.Name()] = master
			return fmt.Sprintf(`
endpoints:
  clients: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  serial:  {kind: device, path: "%s", baud: 115200, parity: none, stop_bits: 1, framing: lines}
routes:
  - {pattern: merge, from: clients, to: serial}
  - {pattern: fanout, from: serial, to: clients}
`, slave)
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			master := ptyMasters[t.Name()]
			waitFor(t, "the serial port open", func() bool { return endpoint(r.Stats(), "serial").Active == 1 })
			const clients, lines = 3, 20
			var conns []*net.TCPConn
			for range clients {
				conns = append(conns, dial(t, r.Addr("clients")))
			}
			waitFor(t, "clients", func() bool { return endpoint(r.Stats(), "clients").Active == clients })
			for i, c := range conns {
				var b strings.Builder
				for n := range lines {
					fmt.Fprintf(&b, "client %d line %d %s\n", i, n, strings.Repeat("p", 40+n))
				}
				go io.WriteString(c, b.String()) // all at once: lines must still not interleave
			}
			master.SetReadDeadline(time.Now().Add(ioTimeout))
			next := map[int]int{}
			for _, l := range readLines(t, bufio.NewReader(master), clients*lines) {
				var from, n int
				var pad string
				if _, err := fmt.Sscanf(l, "client %d line %d %s", &from, &n, &pad); err != nil || len(pad) != 40+n || n != next[from] {
					t.Fatalf("the device got a torn or out-of-order line %q", l)
				}
				next[from]++
			}
			io.WriteString(master, "reading 42\n")
			for i, c := range conns {
				if got := readLines(t, bufio.NewReader(c), 1)[0]; got != "reading 42" {
					t.Fatalf("client %d got %q", i, got)
				}
			}
		},
	},
	{
		name: "pty/a-program-opens-the-link",
		yaml: func(t *testing.T, env map[string]string) string {
			env["link"] = filepath.Join(t.TempDir(), "ttyFAKE0")
			return fmt.Sprintf(`
endpoints:
  net:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  port: {kind: pty, link: "%s", framing: lines}
routes:
  - {pattern: merge, from: net, to: port}
  - {pattern: fanout, from: port, to: net}
`, env["link"])
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			waitFor(t, "the pty", func() bool { return endpoint(r.Stats(), "port").Active == 1 })
			prog, err := os.OpenFile(env["link"], os.O_RDWR|unix.O_NOCTTY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer prog.Close()
			c := dial(t, r.Addr("net"))
			waitFor(t, "the client", func() bool { return endpoint(r.Stats(), "net").Active == 1 })
			io.WriteString(prog, "hello from the program\n")
			if got := readLines(t, bufio.NewReader(c), 1)[0]; got != "hello from the program" {
				t.Fatalf("client got %q", got)
			}
			io.WriteString(c, "hello program\n")
			prog.SetReadDeadline(time.Now().Add(ioTimeout))
			if got := readLines(t, bufio.NewReader(prog), 1)[0]; got != "hello program" {
				t.Fatalf("program got %q", got)
			}
		},
	},
	{
		name: "device/urandom-source-and-null-sink",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  noise: {kind: device, path: /dev/urandom, mode: read}
  subs:  {kind: tcp, listen: "127.0.0.1:0"}
  in:    {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  void:  {kind: device, path: /dev/null, mode: write, framing: lines}
routes:
  - {pattern: fanout, from: noise, to: subs}
  - {pattern: fanout, from: in, to: void}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			sub := dial(t, r.Addr("subs"))
			got := make([]byte, 1<<20)
			if _, err := io.ReadFull(sub, got); err != nil {
				t.Fatal(err)
			}
			if bytes.Count(got, []byte{0}) > len(got)/100 {
				t.Fatalf("%d zero bytes in 1MiB from /dev/urandom", bytes.Count(got, []byte{0}))
			}
			waitFor(t, "the null sink open", func() bool { return endpoint(r.Stats(), "void").Active == 1 })
			in := dial(t, r.Addr("in"))
			io.WriteString(in, strings.Repeat("into the void\n", 100))
			waitFor(t, "100 lines written to /dev/null", func() bool { return endpoint(r.Stats(), "void").MsgsOut == 100 })
		},
	},
}

// childPIDs lists this process's child processes running comm, zombies
// included, so a child that was not reaped still counts.
func childPIDs(t *testing.T, comm string) []string {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/children")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread exited meanwhile
		}
		for _, pid := range strings.Fields(string(b)) {
			if c, err := os.ReadFile("/proc/" + pid + "/comm"); err == nil && strings.TrimSpace(string(c)) == comm {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// ptyPair opens a pseudo-terminal for a test: the master, which plays a
// serial device, and the slave's path, which the router opens as one.
func ptyPair(t *testing.T) (*os.File, string) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	master := os.NewFile(uintptr(fd), "ptmx")
	t.Cleanup(func() { master.Close() })
	return master, fmt.Sprintf("/dev/pts/%d", n)
}

var ptyMasters = map[string]*os.File{}

// Peers a case's yaml step made, for its run step, by test name.
var (
	udpPeers  = map[string]*net.UDPConn{}
	unixPeers = map[string]*net.UnixConn{}
)
