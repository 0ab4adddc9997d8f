package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A reload whose new part cannot start (its address is held by another
// process) starts the old version again: the endpoint answers on its old
// address, a later good reload works, and every message the old
// connection was offered is counted (delivered or dropped).
func TestProbeFailedReloadRestartsTheOldParts(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			held, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer held.Close()
			a := freePort(t)
			version := func(addr string, maxFrame int) string {
				return fmt.Sprintf(`
drain_timeout: 300ms
endpoints:
  keep: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  x:    {kind: tcp, listen: %q, framing: lines, max_frame: %d}
routes:
  - {pattern: echo, members: keep}
  - {pattern: echo, members: x}
`, addr, maxFrame)
			}
			file := filepath.Join(t.TempDir(), "t.yaml")
			writeFileAt(t, file, version(a, 4096))
			r := startFile(t, v, file)
			echo := func(c net.Conn, line string) error {
				c.SetDeadline(time.Now().Add(ioTimeout))
				if _, err := io.WriteString(c, line+"\n"); err != nil {
					return err
				}
				got, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					return err
				}
				if got != line+"\n" {
					return fmt.Errorf("echoed %q, want %q", got, line)
				}
				return nil
			}
			old := dial(t, a)
			if err := echo(old, "before"); err != nil {
				t.Fatal(err)
			}
			keep := dial(t, r.Addr("keep"))
			if err := echo(keep, "before"); err != nil {
				t.Fatal(err)
			}

			writeFileAt(t, file, version(held.Addr().String(), 8192))
			if _, err := r.Reload(); err == nil || !strings.Contains(err.Error(), "address already in use") {
				t.Fatalf("reload onto a held address: %v, want address already in use", err)
			}
			// The old version answers on its address again.
			fresh := dial(t, a)
			if err := echo(fresh, "after"); err != nil {
				t.Fatalf("x after the failed reload: %v", err)
			}
			if err := echo(keep, "after"); err != nil {
				t.Fatalf("keep after the failed reload: %v", err)
			}
			oldErr := echo(old, "old after")
			t.Logf("the connection made before the failed reload: %v", oldErr)

			writeFileAt(t, file, version(a, 16384))
			if ch, err := r.Reload(); err != nil || ch.String() != "replaced x; kept keep" {
				t.Fatalf("good reload after the failed one: %q, %v", ch.String(), err)
			}
			again := dial(t, a)
			if err := echo(again, "again"); err != nil {
				t.Fatalf("x after the good reload: %v", err)
			}
			old.Close()
			fresh.Close()
			again.Close()
			waitFor(t, "x's connections closed", func() bool { return endpoint(r.Stats(), "x").Active == 0 })
			e := endpoint(r.Stats(), "x")
			var drops uint64
			for _, n := range e.Drops {
				drops += n
			}
			if e.Offered != e.MsgsOut+drops+uint64(e.Queued) || e.MsgsIn != e.Offered {
				t.Errorf("x: in %d, offered %d, out %d, drops %v, queued %d: not all accounted for", e.MsgsIn, e.Offered, e.MsgsOut, e.Drops, e.Queued)
			}
		})
	}
}
