package tests

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/topology"
)

// Issue 17 item 6: a reload of a topology over the limits is refused with
// one positioned error, and the running topology keeps serving.
func TestReloadRefusesAnOversizedTopology(t *testing.T) {
	const small = `
endpoints:
  echo: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: echo, members: echo}
`
	many := func(n int) string {
		var b strings.Builder
		b.WriteString("endpoints:\n")
		for i := range n {
			fmt.Fprintf(&b, "  e%d: {kind: tcp, listen: \"127.0.0.1:0\", framing: lines}\n", i)
		}
		b.WriteString("routes:\n")
		for i := range n {
			fmt.Fprintf(&b, "  - {pattern: echo, members: e%d}\n", i)
		}
		return b.String()
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "t.yaml")
			if err := os.WriteFile(file, []byte(small), 0o644); err != nil {
				t.Fatal(err)
			}
			r := startFile(t, v, file)
			c := dial(t, r.Addr("echo"))
			rd := bufio.NewReader(c)
			for i, tc := range []struct{ yaml, want string }{
				{many(30_000), ":1:1: the topology is 2.8 MiB (2917799 bytes), over the limit of 2 MiB"},
				{many(topology.MaxEndpoints + 1), ":2:3: 10001 endpoints: a topology holds at most 10000"},
			} {
				if err := os.WriteFile(file, []byte(tc.yaml), 0o644); err != nil {
					t.Fatal(err)
				}
				_, err := r.Reload()
				if err == nil || !strings.Contains(err.Error(), file+tc.want) || len(topology.Errors(err)) > 2 {
					t.Fatalf("reload %d: %.300v; want one error: %s%s", i, err, file, tc.want)
				}
				fmt.Fprintf(c, "still %d\n", i)
				if got := readLines(t, rd, 1)[0]; got != fmt.Sprintf("still %d", i) {
					t.Fatalf("after reload %d the echo answered %q", i, got)
				}
				if n := len(r.Stats().Endpoints); n != 1 {
					t.Fatalf("after reload %d the router runs %d endpoints, want the 1 it had", i, n)
				}
			}
		})
	}
}
