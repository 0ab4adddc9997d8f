package tests

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
	"github.com/pxroute/pxroute/topology"
)

// startFile runs the topology in file under v, as pxroute run does.
func startFile(t *testing.T, v variant, file string) *router.Router {
	t.Helper()
	if err := router.EngineUnavailable(v.engine); err != nil {
		t.Skipf("%s cannot run on this machine: %v", v.engine, err)
	}
	var logw io.Writer = io.Discard
	if testing.Verbose() {
		logw = os.Stderr
	}
	r, err := router.Load(file, router.Options{Loops: v.loops, Engine: v.engine,
		Logger: slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.StopWithin(2 * time.Second) })
	return r
}

const reloadBefore = `
drain_timeout: 1s
endpoints:
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  echo: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  gone: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: chat}   # kept as it is
  - {pattern: echo, members: echo}    # changed below
  - {pattern: echo, members: gone}    # removed below
`

const reloadAfter = `
drain_timeout: 1s
endpoints:
  # comments and layout do not count as changes
  chat:
    kind: tcp
    listen: "127.0.0.1:0"
    framing: lines
  echo: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_frame: 4KiB}
  fresh: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - pattern: relay
    members: chat
  - {pattern: echo, members: echo}
  - {pattern: echo, members: fresh}
`

// A reload keeps what did not change running untouched, drains what
// changed or went, and starts what changed or is new; a bad file changes
// nothing.
func TestReload(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "t.yaml")
			if err := os.WriteFile(file, []byte(reloadBefore), 0o644); err != nil {
				t.Fatal(err)
			}
			r := startFile(t, v, file)
			alice, bob := dial(t, r.Addr("chat")), dial(t, r.Addr("chat"))
			oldEcho, oldGone := dial(t, r.Addr("echo")), dial(t, r.Addr("gone"))
			waitFor(t, "everyone connected", func() bool {
				s := r.Stats()
				return endpoint(s, "chat").Active == 2 && endpoint(s, "echo").Active == 1 && endpoint(s, "gone").Active == 1
			})

			// A broken file is refused with its errors, and nothing stops.
			os.WriteFile(file, []byte("endpoints:\n  x: {kind: tcp, listen: nowhere}\nroutes: []\n"), 0o644)
			if _, err := r.Reload(); err == nil || len(topology.Errors(err)) == 0 || !strings.Contains(err.Error(), "t.yaml:2:") {
				t.Fatalf("reload of a broken file: %v; want its errors with positions", err)
			}

			os.WriteFile(file, []byte(reloadAfter), 0o644)
			ch, err := r.Reload()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ch.String(), "added fresh; removed gone; replaced echo; kept chat"; got != want {
				t.Fatalf("change %q, want %q", got, want)
			}
			// The relay kept its members and carries on.
			io.WriteString(alice, "still here\n")
			if got := readLines(t, bufio.NewReader(bob), 1)[0]; got != "still here" {
				t.Fatalf("bob got %q", got)
			}
			// The replaced and removed endpoints' connections were drained
			// and closed.
			for name, c := range map[string]io.Reader{"echo": oldEcho, "gone": oldGone} {
				if _, err := c.Read(make([]byte, 1)); err == nil {
					t.Fatalf("the old %s connection is still served", name)
				}
			}
			// The new versions serve.
			for _, ep := range []string{"echo", "fresh"} {
				c := dial(t, r.Addr(ep))
				io.WriteString(c, "new "+ep+"\n")
				if got := readLines(t, bufio.NewReader(c), 1)[0]; got != "new "+ep {
					t.Fatalf("%s echoed %q", ep, got)
				}
			}
			if s := endpoint(r.Stats(), "chat"); s.Opened != 2 {
				t.Fatalf("chat opened %d connections; the reload should have kept its two", s.Opened)
			}
		})
	}
}
