package completion

import (
	"context"
	"testing"
)

// virtualOpen is how many virtual descriptors are open now.
func virtualOpen() int {
	t := &virtualTable
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.next - len(t.free)
}

// A descriptor number is reused once closed. Mail the old pipe posted
// before its close (a note in the inbox, as when the loop closes a conn
// that lingered on a write, without a Cancel) reaches the old pipe, with
// the old token: never the new pipe that took its number. And churn gives
// every number back.
func TestVirtualNumberReuseKeepsPipesApart(t *testing.T) {
	base := virtualOpen()
	tl := newTestLoop()
	ln := mustListen(t, 0)
	tl.v.Accept(ln.FD(), 1)
	ctx := context.Background()
	stale := 0
	for i := range 1000 {
		old, err := ln.Dial()
		if err != nil {
			t.Fatal(err)
		}
		tl.until(t, KindAccept, 1)
		tl.v.Recv(old.FD(), 100) // nothing yet: the loop waits for data
		if _, err := old.Write(ctx, [][]byte{[]byte("old")}); err != nil {
			t.Fatal(err)
		}
		// The note is in the inbox; the loop closes the fd before taking it.
		Close(old.FD())
		p, err := ln.Dial()
		if err != nil {
			t.Fatal(err)
		}
		if p.FD() != old.FD() {
			t.Fatalf("round %d: new pipe %d, old %d: the number was not reused", i, p.FD(), old.FD())
		}
		tl.v.Recv(p.FD(), 200)
		if _, err := p.Write(ctx, [][]byte{[]byte("new")}); err != nil {
			t.Fatal(err)
		}
		seen := 0
		for seen < 2 {
			for _, c := range tl.turn() {
				switch c.Kind {
				case KindAccept:
					seen++ // p's accept
				case KindRecv:
					if got := string(c.Buf.B[:c.N]); c.Token == 200 && got != "new" || c.Token == 100 && got != "old" {
						t.Fatalf("round %d: token %d got %q", i, c.Token, got)
					}
					if c.Token == 200 {
						seen++
					} else {
						stale++
					}
					tl.v.Release(c.Buf)
				}
			}
		}
		tl.v.Cancel(p.FD())
		p.Close()
		Close(p.FD())
	}
	Close(ln.FD())
	if stale == 0 {
		t.Fatal("no stale note was taken: the test did not exercise the reuse")
	}
	if n := virtualOpen(); n != base {
		t.Fatalf("%d virtual descriptors open after the churn, %d before", n, base)
	}
}
