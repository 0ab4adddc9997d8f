package tests

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// Issue 16 defect 7: drops at a message's source (no_route, a sender over
// max_frame, a bridge whose other side had gone) shared counters with
// drops at its destination, so Offered = delivered + dropped + queued
// could not be checked per endpoint on bridge, echo and relay endpoints.
// Source-side losses are counted apart (Lost); every endpoint reconciles.
func TestEveryEndpointReconcilesOnItsOwn(t *testing.T) {
	cases := []struct {
		name  string
		yaml  string
		abuse func(t *testing.T, r *router.Router)
		lost  string // the endpoint that must count a source-side loss; "": any may
	}{
		{"relay/member-over-max_frame", `
endpoints:
  room: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_frame: 1KiB}
routes:
  - {pattern: relay, members: room}
`, func(t *testing.T, r *router.Router) {
			a, b := dial(t, r.Addr("room")), dial(t, r.Addr("room"))
			defer b.Close()
			waitFor(t, "members", func() bool { return endpoint(r.Stats(), "room").Active == 2 })
			io.WriteString(a, "hello\n"+strings.Repeat("z", 4096)+"\n")
			if got, _ := bufio.NewReader(b).ReadString('\n'); got != "hello\n" {
				t.Errorf("b got %q", got)
			}
			io.Copy(io.Discard, a) // closed by the router
		}, "room"},
		{"echo/over-max_frame", `
endpoints:
  e: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_frame: 1KiB}
routes:
  - {pattern: echo, members: e}
`, func(t *testing.T, r *router.Router) {
			c := dial(t, r.Addr("e"))
			io.WriteString(c, "one\n"+strings.Repeat("z", 4096)+"\n")
			io.Copy(io.Discard, c)
		}, "e"},
		{"fanout/no-subscriber", `
endpoints:
  pub: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: subs}
`, func(t *testing.T, r *router.Router) {
			c := dial(t, r.Addr("pub"))
			io.WriteString(c, "into the void\n")
			c.Close()
		}, "pub"},
		{"bridge/upstream-refused", fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  back: {kind: tcp, connect: "%s", framing: lines}
routes:
  - {pattern: bridge, from: front, to: back}
`, closedPort(t)), func(t *testing.T, r *router.Router) {
			for range 20 {
				c := dial(t, r.Addr("front"))
				io.WriteString(c, strings.Repeat("line\n", 100))
				io.Copy(io.Discard, c)
			}
		}, ""},
	}
	for _, v := range variants() {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				r := start(t, v, tc.yaml)
				tc.abuse(t, r)
				if tc.lost != "" {
					waitFor(t, "the loss counted at "+tc.lost, func() bool { return lostAt(r.Stats(), tc.lost) > 0 })
				}
				waitFor(t, "every endpoint reconciled", func() bool {
					s := r.Stats()
					for _, e := range s.Endpoints {
						if reconcile(s, e.Name) != nil || e.Active != 0 {
							return false
						}
					}
					return true
				})
			})
		}
	}
}

// closedPort returns a loopback address nobody listens on, for the
// test's life: a socket bound there and never listening holds the port
// (connects to it are refused), where a listener closed at once would
// leave it free for another test on the machine to take meanwhile.
func closedPort(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}
