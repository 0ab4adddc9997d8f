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

// A reload under steady traffic keeps the unchanged fanout's connections
// open and loses nothing: every numbered line arrives, in order, while the
// other part of the topology is replaced again and again.
func TestReloadUnderTraffic(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "t.yaml")
			version := func(n int) string {
				return fmt.Sprintf(`
endpoints:
  pub:   {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  other: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_frame: %d}
routes:
  - {pattern: fanout, from: pub, to: subs}
  - {pattern: echo, members: other}
`, 4096+n)
			}
			writeFileAt(t, file, version(0))
			r := startFile(t, v, file)
			sub := bufio.NewReader(dial(t, r.Addr("subs")))
			waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "subs").Active == 1 })
			pub := dial(t, r.Addr("pub"))
			errs := make(chan error, 1)
			go func() {
				for n := 1; n <= 5; n++ {
					os.WriteFile(file, []byte(version(n)), 0o644)
					ch, err := r.Reload()
					if err == nil && ch.String() != "replaced other; kept pub, subs" {
						err = fmt.Errorf("reload %d: %s", n, ch)
					}
					if err != nil {
						errs <- err
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
				errs <- nil
			}()
			// Publish until every reload has happened, in steps the
			// subscriber reads whole, checking each line's number.
			lines, reloading := 0, true
			for reloading || lines < 10000 {
				select {
				case err := <-errs:
					if err != nil {
						t.Fatal(err)
					}
					reloading = false
				default:
				}
				var b strings.Builder
				for i := range 500 {
					b.WriteString(numberedLine(lines + i))
				}
				io.WriteString(pub, b.String())
				for i, l := range readLines(t, sub, 500) {
					if !strings.HasPrefix(l, fmt.Sprintf("message %06d ", lines+i)) {
						t.Fatalf("line %d is %q", lines+i, l[:20])
					}
				}
				lines += 500
			}
			waitFor(t, "the figures published", func() bool { return endpoint(r.Stats(), "subs").MsgsOut >= uint64(lines) })
			s := endpoint(r.Stats(), "subs")
			if s.MsgsOut != uint64(lines) || s.Opened != 1 || s.Drops["hwm"]+s.Drops["disconnect"]+s.Drops["shutdown"] != 0 {
				t.Fatalf("subs: %d of %d delivered over %d connection(s), drops %v", s.MsgsOut, lines, s.Opened, s.Drops)
			}
		})
	}
}
