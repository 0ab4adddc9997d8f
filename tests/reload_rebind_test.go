package tests

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"testing"
)

// A reload that replaces a listener on a fixed address must find the
// address free: Retire returns once the old listener is gone, and on
// io_uring its armed accept held the socket until the kernel had run the
// cancellation, which the loop did only at its next wait. With the loops
// shared between generations the new one binds at once, and about one
// reload in ten failed with "address already in use".
func TestReloadReplacingAListenerOnTheSameAddress(t *testing.T) {
	const reloads = 40
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			addr := freePort(t)
			file := filepath.Join(t.TempDir(), "rebind.yaml")
			version := func(n int) string {
				return fmt.Sprintf(`
endpoints:
  echo: {kind: tcp, listen: "%s", framing: lines, max_frame: %d}
routes:
  - {pattern: echo, members: echo}
`, addr, 4096+n)
			}
			writeFileAt(t, file, version(0))
			r := startFile(t, v, file)
			for n := 1; n <= reloads; n++ {
				writeFileAt(t, file, version(n))
				if _, err := r.Reload(); err != nil {
					t.Fatalf("reload %d of %d: %v", n, reloads, err)
				}
				// A client of each generation: the old one drains it.
				c := dial(t, addr)
				fmt.Fprintf(c, "echo %d\n", n)
				readLines(t, bufio.NewReader(c), 1)
				c.Close()
			}
			c := dial(t, addr)
			io.WriteString(c, "still here\n")
			if got := readLines(t, bufio.NewReader(c), 1)[0]; got != "still here" {
				t.Fatalf("after %d reloads the echo said %q", reloads, got)
			}
		})
	}
}
