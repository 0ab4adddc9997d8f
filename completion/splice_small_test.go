package completion

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPortSpliceSmallMessages splices message-sized writes one at a time,
// as a bridge does in a request/reply exchange: each must arrive whether
// its bytes wait in the socket before the splice is asked for or come
// after (io_uring polls first after a short splice: a poll armed on
// bytes already there must fire at once).
func TestPortSpliceSmallMessages(t *testing.T) {
	cases := []struct {
		name        string
		writeBefore bool
	}{
		{"bytes-already-waiting-are-spliced", true},
		{"bytes-that-come-later-are-spliced", false},
	}
	eachPort(t, func(t *testing.T, p Port) {
		lfd, addr := listener(t)
		p.Accept(lfd, 1)
		client, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err := unix.Connect(client, addr); err != nil {
			t.Fatal(err)
		}
		src := waitKind(t, p, KindAccept).N
		p.Cancel(lfd)
		defer unix.Close(client)
		defer unix.Close(src)
		var pipe [2]int
		if err := unix.Pipe2(pipe[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		defer unix.Close(pipe[0])
		defer unix.Close(pipe[1])
		// No t.Run: a SINGLE_ISSUER ring takes calls from its own thread only.
		for i := range 6 {
			c := cases[i%len(cases)]
			func() {
				msg := bytes.Repeat([]byte{byte('a' + i)}, 64)
				if c.writeBefore {
					unix.Write(client, msg)
				}
				p.SpliceIn(src, pipe[1], 64<<10, uint64(i+1))
				if !c.writeBefore {
					unix.Write(client, msg)
				}
				got := waitKind(t, p, KindSpliceIn)
				if got.Err != 0 || got.N != len(msg) || got.Token != uint64(i+1) {
					t.Fatalf("%s, message %d: splice in: %+v, want %d bytes, token %d", c.name, i, got, len(msg), i+1)
				}
				b := make([]byte, 128)
				n, err := unix.Read(pipe[0], b)
				if err != nil || !bytes.Equal(b[:n], msg) {
					t.Fatalf("%s, message %d: pipe holds %q (%v), want %q", c.name, i, b[:max(n, 0)], err, msg)
				}
			}()
		}
	})
}
