package tests

import (
	"bufio"
	"net"
	"strings"
	"testing"
)

// An inproc attach has no peer address: a relay that names its members by
// address must give a Go member the fallback name, never the address of
// whatever real socket happens to hold the same low number. A virtual
// descriptor is 2^40 + slot; handed to getpeername(2), whose fd is an int,
// it names the real descriptor numbered slot. Run alone, this test's
// attaches take low slots, and its 64 dialled sockets the low numbers.
func TestInprocMemberNamedByAddressGetsTheFallbackName(t *testing.T) {
	const yaml = `
endpoints:
  app:  {kind: inproc}
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: [app, chat], names: address, notices: true}
`
	const members = 64
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			// Real sockets on low descriptor numbers, as a busy process has.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			for range 64 {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
			}
			r := start(t, v, yaml)
			c := dial(t, r.Addr("chat"))
			waitFor(t, "tcp member", func() bool { return endpoint(r.Stats(), "chat").Active == 1 })
			br := bufio.NewReader(c)
			for range members {
				attach(t, r, "app")
			}
			bad := 0
			for _, line := range readLines(t, br, members) {
				name, ok := strings.CutSuffix(strings.TrimPrefix(line, "* "), " joined")
				if !ok || !strings.HasPrefix(name, "app#") {
					bad++
					t.Errorf("an inproc member joined as %q (line %q), want the fallback app#…", name, line)
				}
			}
			if bad > 0 {
				t.Logf("%d of %d inproc members named by another socket's address", bad, members)
			}
		})
	}
}
