package tests

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
)

// TestProbe2BridgePeerFollowsOut: a bridge whose upstream closes under
// load, or cannot be reached, closes the client too (the at-close peer
// flag), and both ends' figures balance.
func TestProbe2BridgePeerFollowsOut(t *testing.T) {
	for _, v := range variants() {
		for _, upstreamUp := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/upstream-up=%v", v, upstreamUp), func(t *testing.T) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr := ln.Addr().String()
				if upstreamUp {
					t.Cleanup(func() { ln.Close() })
					go func() {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						io.CopyN(io.Discard, c, 64<<10) // read some, then hang up
						c.Close()
					}()
				} else {
					ln.Close() // nobody listens: the connect is refused
				}
				r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  back:  {kind: tcp, connect: "%s", framing: lines}
routes:
  - {pattern: bridge, from: front, to: back}
`, addr))
				c := dial(t, r.Addr("front"))
				line := strings.Repeat("l", 99) + "\n"
				go func() {
					for range 20000 {
						if _, err := io.WriteString(c, line); err != nil {
							return
						}
					}
				}()
				if _, err := io.Copy(io.Discard, c); err != nil && !isReset(err) {
					t.Fatalf("client not closed after its upstream went: %v", err)
				}
				waitFor(t, "both sides closed", func() bool {
					s := r.Stats()
					return endpoint(s, "front").Active == 0 && endpoint(s, "back").Active == 0
				})
				settledBalanced(t, r, "front", "back")
				s := r.Stats()
				t.Logf("front %+v back %+v", endpoint(s, "front"), endpoint(s, "back"))
			})
		}
	}
}
