package tests

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// Issue 17, items 2, 3, 4 and 13: endpoints safe by default. (Item 7, the
// unix socket's mode, races the bind: endpoints/unix_mode_race_test.go.)

// TestDenyMappedPrefixes: an access list written in IPv4-mapped form
// (::ffff:a.b.c.d) judges IPv4 peers as its IPv4 form would. Peers were
// unmapped before matching but prefixes were not, so these denied nothing.
func TestDenyMappedPrefixes(t *testing.T) {
	cases := []struct {
		name, list string
		admitted   bool
	}{
		{"deny-mapped-host-refuses-127.0.0.1", `deny: ["::ffff:127.0.0.1/128"]`, false},
		{"deny-all-mapped-refuses-127.0.0.1", `deny: ["::ffff:0:0/96"]`, false},
		{"deny-mapped-address-refuses-127.0.0.1", `deny: ["::ffff:127.0.0.1"]`, false},
		{"deny-mapped-other-net-admits-127.0.0.1", `deny: ["::ffff:10.0.0.0/104"]`, true},
		{"allow-mapped-loopback-admits-127.0.0.1", `allow: ["::ffff:127.0.0.0/104"]`, true},
		{"allow-mapped-other-net-refuses-127.0.0.1", `allow: ["::ffff:10.0.0.0/104"]`, false},
	}
	for _, v := range variants() {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				r := start(t, v, fmt.Sprintf(`
endpoints:
  guarded: {kind: tcp, listen: "127.0.0.1:0", framing: lines, %s}
routes:
  - {pattern: echo, members: [guarded]}
`, tc.list))
				c := dial(t, r.Addr("guarded"))
				io.WriteString(c, "knock\n")
				line, err := bufio.NewReader(c).ReadString('\n')
				n := refused(r, "guarded", "denied")
				if tc.admitted {
					if err != nil || line != "knock\n" || n != 0 {
						t.Fatalf("want an echo and no refusal; got %q, %v, refused %d", line, err, n)
					}
					return
				}
				if err == nil {
					t.Fatalf("want the peer refused; got %q", line)
				}
				waitFor(t, "the refusal counted", func() bool { return refused(r, "guarded", "denied") == 1 })
			})
		}
	}
}

// tryStart is start that returns the load or start error instead of
// failing the test.
func tryStart(t *testing.T, v variant, yaml string) (*router.Router, error) {
	t.Helper()
	r, err := router.LoadBytes(t.Name()+".yaml", []byte(yaml), router.Options{
		Loops: v.loops, Engine: v.engine, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, err
	}
	if err := r.Start(context.Background()); err != nil {
		return nil, err
	}
	t.Cleanup(func() { r.StopWithin(2 * time.Second) })
	return r, nil
}

// TestFileSymlinks: file and fifo endpoints do not open through a symlink
// at their path unless follow_symlinks: true says to; a reopen (SIGHUP)
// neither follows a symlink planted since nor opens another kind of file.
func TestFileSymlinks(t *testing.T) {
	type env = fileEnv
	const victimText = "precious\n"
	cases := []struct {
		name string
		// endpoint is the file endpoint's YAML; %s is its path.
		endpoint string
		// plant makes what is at the path before the start.
		plant func(t *testing.T, e env)
		// startErr, if not empty, is what the start error must say.
		startErr string
		// run, if set, runs on a router that started.
		run func(t *testing.T, r *router.Router, e env)
	}{
		{
			name:     "truncate-refuses-a-symlink",
			endpoint: `{kind: file, path: "%s", mode: truncate}`,
			plant:    symlinkToVictim,
			startErr: "is a symlink",
		},
		{
			name:     "append-refuses-a-symlink",
			endpoint: `{kind: file, path: "%s", mode: append}`,
			plant:    symlinkToVictim,
			startErr: "is a symlink",
		},
		{
			name:     "read-refuses-a-symlink",
			endpoint: `{kind: file, path: "%s", mode: read, framing: lines}`,
			plant:    symlinkToVictim,
			startErr: "is a symlink",
		},
		{
			name:     "follow-refuses-a-symlink",
			endpoint: `{kind: file, path: "%s", mode: follow, framing: lines}`,
			plant:    symlinkToVictim,
			startErr: "is a symlink",
		},
		{
			name:     "fifo-refuses-a-symlink",
			endpoint: `{kind: fifo, path: "%s", mode: write}`,
			plant: func(t *testing.T, e env) {
				fifo := filepath.Join(e.dir, "real.fifo")
				if err := syscall.Mkfifo(fifo, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(fifo, e.path); err != nil {
					t.Fatal(err)
				}
			},
			startErr: "is a symlink",
		},
		{
			name:     "follow_symlinks-true-writes-the-target",
			endpoint: `{kind: file, path: "%s", mode: append, follow_symlinks: true}`,
			plant:    symlinkToVictim,
			run: func(t *testing.T, r *router.Router, e env) {
				c := dial(t, r.Addr("in"))
				io.WriteString(c, "through the link\n")
				waitFor(t, "the line in the target", func() bool {
					b, _ := os.ReadFile(e.victim)
					return string(b) == victimText+"through the link\n"
				})
			},
		},
		{
			name:     "reopen-refuses-a-planted-symlink",
			endpoint: `{kind: file, path: "%s", mode: append}`,
			run: func(t *testing.T, r *router.Router, e env) {
				c := dial(t, r.Addr("in"))
				io.WriteString(c, "one\n")
				waitFor(t, "the first line", func() bool {
					b, _ := os.ReadFile(e.path)
					return string(b) == "one\n"
				})
				if err := os.Rename(e.path, e.path+".1"); err != nil {
					t.Fatal(err)
				}
				symlinkToVictim(t, e)
				err := r.Reopen()
				if err == nil || !strings.Contains(err.Error(), "endpoint out") || !strings.Contains(err.Error(), e.path) || !strings.Contains(err.Error(), "is a symlink") {
					t.Fatalf("reopen through a planted symlink: err %v; want it refused, naming the endpoint and path", err)
				}
				io.WriteString(c, "two\n")
				waitFor(t, "the second line in the file still open", func() bool {
					b, _ := os.ReadFile(e.path + ".1")
					return string(b) == "one\ntwo\n"
				})
				if b, _ := os.ReadFile(e.victim); string(b) != victimText {
					t.Fatalf("the symlink's target was written: %q", b)
				}
			},
		},
		{
			name:     "reopen-refuses-another-kind-of-file",
			endpoint: `{kind: file, path: "%s", mode: append}`,
			run: func(t *testing.T, r *router.Router, e env) {
				waitFor(t, "the file open", func() bool { return endpoint(r.Stats(), "out").Active == 1 })
				if err := os.Rename(e.path, e.path+".1"); err != nil {
					t.Fatal(err)
				}
				if err := syscall.Mkfifo(e.path, 0o600); err != nil {
					t.Fatal(err)
				}
				err := r.Reopen()
				if err == nil || !strings.Contains(err.Error(), "endpoint out") || !strings.Contains(err.Error(), "fifo") {
					t.Fatalf("reopen onto a fifo: err %v; want it refused, saying what it found", err)
				}
			},
		},
	}
	for _, v := range variants() {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				dir := t.TempDir()
				e := env{dir: dir, path: filepath.Join(dir, "out.log"), victim: filepath.Join(dir, "victim")}
				if err := os.WriteFile(e.victim, []byte(victimText), 0o600); err != nil {
					t.Fatal(err)
				}
				if tc.plant != nil {
					tc.plant(t, e)
				}
				route := "{pattern: merge, from: in, to: out}"
				if strings.Contains(tc.endpoint, "mode: read") || strings.Contains(tc.endpoint, "mode: follow") {
					route = "{pattern: fanout, from: out, to: in}"
				}
				r, err := tryStart(t, v, fmt.Sprintf(`
endpoints:
  in:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  out: `+tc.endpoint+`
routes:
  - `+route+`
`, e.path))
				if tc.startErr != "" {
					if err == nil || !strings.Contains(err.Error(), "endpoint out") || !strings.Contains(err.Error(), e.path) || !strings.Contains(err.Error(), tc.startErr) {
						t.Fatalf("start: %v; want an error naming endpoint out and %s, saying %q", err, e.path, tc.startErr)
					}
					if b, _ := os.ReadFile(e.victim); string(b) != victimText {
						t.Fatalf("the symlink's target was touched: %q", b)
					}
					return
				}
				if err != nil {
					t.Fatalf("start: %v", err)
				}
				tc.run(t, r, e)
			})
		}
	}
}

// fileEnv is where a TestFileSymlinks case runs: its directory, the
// endpoint's path and a file a symlink may point to.
type fileEnv struct{ dir, path, victim string }

func symlinkToVictim(t *testing.T, e fileEnv) {
	t.Helper()
	if err := os.Symlink(e.victim, e.path); err != nil {
		t.Fatal(err)
	}
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) S ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// TestExecChildren: exec children die with pxroute's stop even if they
// ignore SIGTERM (and so does what they started in their process group),
// their number is capped, they see a minimal environment, and their exits
// are logged by endpoint with a readable status.
func TestExecChildren(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String()+"/stop-kills-children-that-ignore-sigterm-and-their-group", func(t *testing.T) {
			// Each child ignores SIGTERM (and the end of its input),
			// starts a grandchild that ignores it too, and says both pids.
			r := start(t, v, `
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  stubborn:
    kind: exec
    command: [sh, -c, 'trap "" TERM; sleep 600 & echo "$$$$ $!"; exec sleep 600']
    framing: lines
    kill_timeout: 200ms
routes:
  - {pattern: bridge, from: front, to: stubborn}
`)
			var children, grandchildren []int
			for range 5 {
				var a, b int
				c := dial(t, r.Addr("front"))
				l := readLines(t, bufio.NewReader(c), 1)[0]
				if _, err := fmt.Sscanf(l, "%d %d", &a, &b); err != nil {
					t.Fatalf("child said %q", l)
				}
				children, grandchildren = append(children, a), append(grandchildren, b)
			}
			t.Cleanup(func() {
				for _, pid := range append(children, grandchildren...) {
					syscall.Kill(pid, syscall.SIGKILL) // leave no litter if it failed
				}
			})
			if err := r.StopWithin(time.Second); err != nil {
				t.Fatalf("stop: %v", err)
			}
			// Children are reaped before the stop returns; a grandchild
			// is not ours to reap, but has had its SIGKILL.
			var left []int
			for _, pid := range children {
				if alive(pid) {
					left = append(left, pid)
				}
			}
			if len(left) > 0 {
				t.Fatalf("%d of %d children outlived the stop: %v", len(left), len(children), left)
			}
			waitFor(t, "every grandchild dead", func() bool {
				for _, pid := range grandchildren {
					if alive(pid) {
						return false
					}
				}
				return true
			})
		})
		t.Run(v.String()+"/max_children-refuses-and-counts-the-rest", func(t *testing.T) {
			r := start(t, v, `
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  cat:   {kind: exec, command: [cat], framing: lines, max_children: 2}
routes:
  - {pattern: bridge, from: front, to: cat}
`)
			for i := range 2 {
				c := dial(t, r.Addr("front"))
				fmt.Fprintf(c, "client %d\n", i)
				if got := readLines(t, bufio.NewReader(c), 1)[0]; got != fmt.Sprintf("client %d", i) {
					t.Fatalf("client %d got %q", i, got)
				}
			}
			for i := 2; i < 5; i++ {
				c := dial(t, r.Addr("front"))
				fmt.Fprintf(c, "client %d\n", i)
				if l, err := bufio.NewReader(c).ReadString('\n'); err == nil {
					t.Fatalf("client %d over max_children was served: %q", i, l)
				}
			}
			waitFor(t, "3 refused children counted as errors", func() bool { return errorsOf(r.Stats(), "cat") == 3 })
			if a := endpoint(r.Stats(), "cat").Active; a != 2 {
				t.Fatalf("%d children running, want 2", a)
			}
		})
		t.Run(v.String()+"/children-get-a-minimal-environment", func(t *testing.T) {
			cases := []struct {
				name, keys, want string
			}{
				{"by-default", `env: ["EXTRA=1"]`, "secret= home=/ lang=C extra=1"},
				{"env-overrides-the-minimum", `env: ["HOME=/tmp"]`, "secret= home=/tmp lang=C extra="},
				{"env_inherit-passes-it-all", "env_inherit: true\n    env: [\"EXTRA=2\"]", "secret=s3cret home=" + os.Getenv("HOME") + " lang=" + os.Getenv("LANG") + " extra=2"},
			}
			t.Setenv("PXROUTE_TEST_SECRET", "s3cret")
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					r := start(t, v, `
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  show:
    kind: exec
    command: [sh, -c, 'echo "secret=$PXROUTE_TEST_SECRET home=$HOME lang=$LANG extra=$EXTRA"; exec cat']
    framing: lines
    `+tc.keys+`
routes:
  - {pattern: bridge, from: front, to: show}
`)
					if got := readLines(t, bufio.NewReader(dial(t, r.Addr("front"))), 1)[0]; got != tc.want {
						t.Fatalf("child saw %q, want %q", got, tc.want)
					}
				})
			}
		})
		t.Run(v.String()+"/exits-are-logged-by-endpoint-and-status", func(t *testing.T) {
			var logs lockedBuffer
			r := startLogging(t, v, `
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  three: {kind: exec, command: [sh, -c, 'read l; exit 3'], framing: lines}
  back:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  deaf:  {kind: exec, command: [sh, -c, 'trap "" TERM; echo up; exec sleep 600'], framing: lines, kill_timeout: 100ms}
routes:
  - {pattern: bridge, from: front, to: three}
  - {pattern: bridge, from: back, to: deaf}
`, &logs)
			c := dial(t, r.Addr("front"))
			io.WriteString(c, "bye\n")
			waitFor(t, "the exit logged", func() bool { return strings.Contains(logs.String(), `status="exit 3"`) })
			if l := lineWith(logs.String(), `status="exit 3"`); !strings.Contains(l, "endpoint=three") || !strings.Contains(l, "child exited") {
				t.Fatalf("exit line %q: want endpoint=three", l)
			}
			readLines(t, bufio.NewReader(dial(t, r.Addr("back"))), 1)
			if err := r.StopWithin(time.Second); err != nil {
				t.Fatalf("stop: %v", err)
			}
			l := lineWith(logs.String(), `status="signal SIGKILL"`)
			if !strings.Contains(l, "endpoint=deaf") || !strings.Contains(l, "child exited") {
				t.Fatalf("no exit of deaf by SIGKILL logged by endpoint; log:\n%s", logs.String())
			}
			if strings.Contains(logs.String(), "killed by") {
				t.Fatalf("an exit described as \"killed by\":\n%s", logs.String())
			}
		})
	}
}

// lineWith returns the first line of s that contains sub.
func lineWith(s, sub string) string {
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// TestFollowWaitingLogged: a follow endpoint whose file is missing says so
// once, by endpoint and path, and says again when the file appears.
func TestFollowWaitingLogged(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "later.log")
			var logs lockedBuffer
			r := startLogging(t, v, fmt.Sprintf(`
endpoints:
  tail: {kind: file, path: "%s", mode: follow, poll: 10ms, framing: lines}
  out:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: tail, to: out}
`, path), &logs)
			waitFor(t, "waiting logged", func() bool { return strings.Contains(logs.String(), "waiting for file") })
			if l := lineWith(logs.String(), "waiting for file"); !strings.Contains(l, "endpoint=tail") || !strings.Contains(l, path) || !strings.Contains(l, "level=INFO") {
				t.Fatalf("waiting line %q: want it at info, naming endpoint tail and %s", l, path)
			}
			out := bufio.NewReader(dial(t, r.Addr("out")))
			waitFor(t, "the subscriber", func() bool { return endpoint(r.Stats(), "out").Active == 1 })
			time.Sleep(50 * time.Millisecond) // several polls while missing: still one line
			if err := os.WriteFile(path, []byte("hello\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if got := readLines(t, out, 1)[0]; got != "hello" {
				t.Fatalf("got %q", got)
			}
			waitFor(t, "appearance logged", func() bool { return strings.Contains(logs.String(), "file appeared") })
			if l := lineWith(logs.String(), "file appeared"); !strings.Contains(l, "endpoint=tail") || !strings.Contains(l, path) {
				t.Fatalf("appeared line %q: want endpoint tail and %s", l, path)
			}
			if n := strings.Count(logs.String(), "waiting for file"); n != 1 {
				t.Fatalf("waiting logged %d times, want once", n)
			}
		})
	}
}
