package tests

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// A reload that removes the inproc endpoints while attaches stream: they
// end (EOF / ErrClosed) by the drain timeout, Attach then says no such
// endpoint, figures keep their names, accounting holds.
func TestInprocReloadRemovingTheEndpointsWhileStreaming(t *testing.T) {
	const before = `
drain_timeout: 200ms
endpoints:
  pub: {kind: inproc, queue: 4KiB}
  sub: {kind: inproc, queue: 4KiB}
  keep: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: sub, overflow: block}
  - {pattern: echo, members: keep}
`
	const after = `
drain_timeout: 200ms
endpoints:
  keep: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: echo, members: keep}
`
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "t.yaml")
			os.WriteFile(file, []byte(before), 0o644)
			r := startFile(t, v, file)
			ctx := ioCtx(t)
			sub := attach(t, r, "sub")
			waitFor(t, "sub", func() bool { return endpoint(r.Stats(), "sub").Active == 1 })
			pub := attach(t, r, "pub")
			var wg sync.WaitGroup
			var sendErr, recvErr error
			wg.Add(2)
			go func() {
				defer wg.Done()
				for {
					if err := pub.Send(ctx, make([]byte, 300)); err != nil {
						sendErr = err
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				for {
					if _, err := sub.Recv(ctx); err != nil {
						recvErr = err
						return
					}
					time.Sleep(50 * time.Microsecond)
				}
			}()
			time.Sleep(100 * time.Millisecond)
			os.WriteFile(file, []byte(after), 0o644)
			if _, err := r.Reload(); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			if !errors.Is(sendErr, router.ErrClosed) {
				t.Errorf("send ended with %v", sendErr)
			}
			if recvErr != io.EOF && recvErr != io.ErrUnexpectedEOF {
				t.Errorf("recv ended with %v", recvErr)
			}
			if _, err := r.Inproc("pub").Attach(); err == nil || !errorsMention(err, "no endpoint") {
				t.Errorf("attach after removal: %v", err)
			}
			waitFor(t, "retired", func() bool { return r.Stats().Generations == 1 })
			s := r.Stats()
			if s.Endpoint("pub").Name != "pub" || s.Endpoint("pub").MsgsIn == 0 {
				t.Errorf("pub's figures after removal: %+v", s.Endpoint("pub"))
			}
			checkAccounting(t, r, "pub", "sub")
		})
	}
}
