package tests

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// Misuse of an attach, and attaches the endpoint refuses: clear errors,
// counted refusals, nothing half sent.
func TestInprocMisuse(t *testing.T) {
	const yaml = `
endpoints:
  app:   {kind: inproc, max_frame: 1KiB, max_conns: 2}
  big:   {kind: inproc, queue: 4KiB, max_frame: 1MiB}
  out:   {kind: inproc, max_frame: 1MiB}
  tcp:   {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: echo, members: app}
  - {pattern: fanout, from: big, to: [out, tcp]}
`
	cases := []struct {
		name string
		run  func(t *testing.T, r *router.Router, ctx context.Context)
	}{
		{"send-and-recv-on-a-closed-attach-say-closed", func(t *testing.T, r *router.Router, ctx context.Context) {
			// Two echoes back, the first taken: the second is read ahead
			// or still queued. Close discards it, and once the router
			// has closed its side too, Recv still says closed, not EOF.
			c := attach(t, r, "app")
			sendText(t, ctx, c, "one")
			sendText(t, ctx, c, "two")
			recvText(t, ctx, c)
			waitFor(t, "both echoed", func() bool { return endpoint(r.Stats(), "app").MsgsOut == 2 })
			c.Close()
			waitFor(t, "the router to close its side", func() bool { return endpoint(r.Stats(), "app").Active == 0 })
			if err := c.Send(ctx, []byte("x")); !errors.Is(err, router.ErrClosed) {
				t.Fatalf("send: %v, want ErrClosed", err)
			}
			if m, err := c.Recv(ctx); !errors.Is(err, router.ErrClosed) {
				t.Fatalf("recv after Close: %q, %v; want ErrClosed", m, err)
			}
		}},
		{"attach-to-a-name-that-is-not-inproc-or-does-not-exist", func(t *testing.T, r *router.Router, ctx context.Context) {
			if _, err := r.Inproc("tcp").Attach(); err == nil || !errorsMention(err, `"tcp"`, "tcp endpoint, not inproc") {
				t.Fatalf("attach to a tcp endpoint: %v", err)
			}
			if _, err := r.Inproc("nope").Attach(); err == nil || !errorsMention(err, `"nope"`, "no endpoint") {
				t.Fatalf("attach to no endpoint: %v", err)
			}
		}},
		{"max-conns-refuses-the-third-attach-counted", func(t *testing.T, r *router.Router, ctx context.Context) {
			a, b := attach(t, r, "app"), attach(t, r, "app")
			waitFor(t, "two attaches", func() bool { return endpoint(r.Stats(), "app").Active == 2 })
			c := attach(t, r, "app")
			if _, err := c.Recv(ctx); err != io.EOF {
				t.Fatalf("the refused attach's first Recv: %v, want io.EOF", err)
			}
			waitFor(t, "the refusal counted", func() bool { return refused(r, "app", "max_conns") == 1 })
			for _, c := range []*router.InprocConn{a, b} {
				sendText(t, ctx, c, "still|served")
				if got := recvText(t, ctx, c); got != "still|served" {
					t.Fatalf("got %q", got)
				}
			}
		}},
		{"a-message-over-max-frame-is-refused-whole", func(t *testing.T, r *router.Router, ctx context.Context) {
			c := attach(t, r, "app")
			err := c.Send(ctx, bytes.Repeat([]byte("x"), 600), bytes.Repeat([]byte("y"), 600))
			if !errors.Is(err, router.ErrTooLarge) {
				t.Fatalf("send over max_frame: %v, want ErrTooLarge", err)
			}
			sendText(t, ctx, c, "next")
			if got := recvText(t, ctx, c); got != "next" {
				t.Fatalf("after a refused send, got %q: something of it was sent", got)
			}
			waitFor(t, "the echo counted", func() bool { return endpoint(r.Stats(), "app").MsgsOut == 1 })
			if e := endpoint(r.Stats(), "app"); e.MsgsIn != 1 {
				t.Fatalf("read %d messages, want 1", e.MsgsIn)
			}
		}},
		{"a-message-larger-than-the-queue-arrives-whole", func(t *testing.T, r *router.Router, ctx context.Context) {
			out := attach(t, r, "out")
			tc := dial(t, r.Addr("tcp"))
			waitFor(t, "subscribers", func() bool {
				s := r.Stats()
				return endpoint(s, "out").Active == 1 && endpoint(s, "tcp").Active == 1
			})
			c := attach(t, r, "big")
			p1, p2 := bytes.Repeat([]byte("a"), 300<<10), bytes.Repeat([]byte("b"), 200<<10)
			done := make(chan error, 1)
			go func() { done <- c.Send(ctx, p1, p2) }()
			m, err := out.Recv(ctx)
			if err != nil || len(m) != 2 || !bytes.Equal(m[0], p1) || !bytes.Equal(m[1], p2) {
				t.Fatalf("got %d parts, %v", len(m), err)
			}
			line := readLines(t, bufio.NewReaderSize(steady(tc), 1<<20), 1)[0]
			if len(line) != len(p1)+len(p2) || strings.Trim(line, "ab") != "" {
				t.Fatalf("the tcp subscriber got %d bytes", len(line))
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, v := range variants() {
		for _, c := range cases {
			t.Run(v.String()+"/"+c.name, func(t *testing.T) {
				c.run(t, start(t, v, yaml), ioCtx(t))
			})
		}
	}
}

// An attach handle kept across a reload that replaces the endpoint: the
// old attach is served until its generation retires (then it ends), new
// attaches reach the new endpoint.
func TestInprocAttachAcrossReload(t *testing.T) {
	const before = `
drain_timeout: 1s
endpoints:
  app: {kind: inproc, max_frame: 64KiB}
routes:
  - {pattern: echo, members: app}
`
	after := strings.Replace(before, "64KiB", "1KiB", 1)
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "t.yaml")
			os.WriteFile(file, []byte(before), 0o644)
			r := startFile(t, v, file)
			ctx := ioCtx(t)
			handle := r.Inproc("app")
			old, err := handle.Attach()
			if err != nil {
				t.Fatal(err)
			}
			defer old.Close()
			sendText(t, ctx, old, "before|reload")
			if got := recvText(t, ctx, old); got != "before|reload" {
				t.Fatalf("got %q", got)
			}
			os.WriteFile(file, []byte(after), 0o644)
			ch, err := r.Reload()
			if err != nil {
				t.Fatal(err)
			}
			if got := ch.String(); !strings.Contains(got, "replaced app") {
				t.Fatalf("change %q", got)
			}
			nw, err := handle.Attach()
			if err != nil {
				t.Fatalf("attach after the reload: %v", err)
			}
			defer nw.Close()
			// The new generation's max_frame applies to the new attach.
			if err := nw.Send(ctx, make([]byte, 2000)); !errors.Is(err, router.ErrTooLarge) {
				t.Fatalf("2000 bytes to the new endpoint (max_frame 1KiB): %v, want ErrTooLarge", err)
			}
			sendText(t, ctx, nw, "new")
			if got := recvText(t, ctx, nw); got != "new" {
				t.Fatalf("the new attach got %q", got)
			}
			// The old one is retired: it ends.
			end, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			for {
				_, err := old.Recv(end)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("the old attach after its generation retired: %v, want io.EOF", err)
				}
			}
		})
	}
}
