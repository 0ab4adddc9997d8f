package completion

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// nullPort is the engine under a virtualPort in these tests: it has no
// descriptors of its own, and its Wait returns what it is given.
type nullPort struct{ Port }

func (nullPort) Wait(dst []Completion, block bool) ([]Completion, error) { return dst, nil }
func (nullPort) Release(*Buf)                                            {}

// testLoop drives a virtualPort as a Loop does, one turn at a time, on the
// test's goroutine.
type testLoop struct {
	l *Loop
	v *virtualPort
}

func newTestLoop() *testLoop {
	l := NewLoop(0)
	v := newVirtualPort(nullPort{}, l)
	l.vport = v
	return &testLoop{l, v}
}

// turn handles the inbox's notes and returns the completions the next
// Wait reports.
func (tl *testLoop) turn() []Completion {
	for _, m := range tl.l.inbox.Drain(nil) {
		tl.v.takeNote(m)
	}
	c, _ := tl.v.Wait(nil, false)
	return c
}

// until turns until want completions of kind came, or fails after 5s.
func (tl *testLoop) until(t *testing.T, kind Kind, want int) []Completion {
	t.Helper()
	var got []Completion
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < want {
		for _, c := range tl.turn() {
			if c.Kind == kind {
				got = append(got, c)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d completions of kind %d", len(got), want, kind)
		}
		time.Sleep(time.Millisecond)
	}
	return got
}

func TestVirtualListener(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, tl *testLoop, ln *Listener)
	}{
		{"every-dial-of-a-burst-is-accepted-after-a-take", func(t *testing.T, tl *testLoop, ln *Listener) {
			// The loop takes the first dial; the two after that must
			// post the listener again, or nobody accepts them.
			if _, err := ln.Dial(); err != nil {
				t.Fatal(err)
			}
			if n := len(tl.turn()); n != 1 {
				t.Fatalf("first turn: %d accepts, want 1", n)
			}
			for range 2 {
				if _, err := ln.Dial(); err != nil {
					t.Fatal(err)
				}
			}
			if n := len(tl.turn()); n != 2 {
				t.Fatalf("after a burst of two more dials: %d accepts, want 2 (inbox depth %d)", n, tl.l.inbox.Depth())
			}
		}},
		{"cancel-closes-the-pipes-of-accepts-not-reaped", func(t *testing.T, tl *testLoop, ln *Listener) {
			// Accepts queued for the next Wait when the listener is
			// cancelled (a stop, a reload) are connections nobody will
			// own: their Go ends must see the end, not wait for ever.
			p, _ := ln.Dial()
			tl.v.noted(ln) // the loop takes the dial; its accept awaits Wait
			tl.v.Cancel(ln.FD())
			Close(ln.FD())
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if _, err := p.Read(ctx, make([]byte, 1)); err != io.EOF {
				t.Fatalf("read on a dial whose accept was cancelled: %v, want io.EOF", err)
			}
			if lookupPipe(p.FD()) != nil {
				t.Fatal("the cancelled accept's pipe is still registered")
			}
		}},
		{"dials-before-accept-is-armed-are-taken-when-it-is", func(t *testing.T, tl *testLoop, ln *Listener) {
			ln2 := mustListen(t, 0)
			defer Close(ln2.FD())
			for range 3 {
				ln2.Dial()
			}
			tl.v.Accept(ln2.FD(), 9)
			if got := tl.until(t, KindAccept, 3); got[0].Token != 9 {
				t.Fatalf("token %d", got[0].Token)
			}
		}},
		{"close-refuses-dials-and-closes-the-backlog", func(t *testing.T, tl *testLoop, ln *Listener) {
			ln2 := mustListen(t, 0)
			p, _ := ln2.Dial()
			Close(ln2.FD())
			if _, err := ln2.Dial(); !errors.Is(err, ErrListenerClosed) {
				t.Fatalf("dial after close: %v", err)
			}
			if _, err := p.Read(context.Background(), make([]byte, 1)); err != io.EOF {
				t.Fatalf("read on a pipe nobody accepted: %v, want io.EOF", err)
			}
			if lookupPipe(p.FD()) != nil {
				t.Fatal("the unaccepted pipe is still registered")
			}
		}},
		{"backlog-is-bounded", func(t *testing.T, tl *testLoop, ln *Listener) {
			ln2 := mustListen(t, 0)
			defer Close(ln2.FD())
			for range MaxBacklog {
				if _, err := ln2.Dial(); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := ln2.Dial(); !errors.Is(err, ErrBacklogFull) {
				t.Fatalf("dial over the backlog: %v", err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tl := newTestLoop()
			ln := mustListen(t, 0)
			defer Close(ln.FD())
			if err := tl.v.Accept(ln.FD(), 1); err != nil {
				t.Fatal(err)
			}
			c.run(t, tl, ln)
		})
	}
}

// pipePair dials ln and has the loop accept: the Go end and the pipe.
func acceptedPipe(t *testing.T, tl *testLoop, size int) *Pipe {
	t.Helper()
	ln := mustListen(t, size)
	t.Cleanup(func() { Close(ln.FD()) })
	tl.v.Accept(ln.FD(), 1)
	p, err := ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	if c := tl.until(t, KindAccept, 1); c[0].N != p.FD() {
		t.Fatalf("accepted %d, dialled %d", c[0].N, p.FD())
	}
	t.Cleanup(func() { p.Close(); Close(p.FD()) })
	return p
}

// loopReadAll receives on p's descriptor until n bytes or end of stream.
func loopReadAll(t *testing.T, tl *testLoop, p *Pipe, n int) (got []byte, eof bool) {
	t.Helper()
	for len(got) < n {
		tl.v.Recv(p.FD(), 2)
		c := tl.until(t, KindRecv, 1)[0]
		if c.N == 0 {
			return got, true
		}
		got = append(got, c.Buf.B[:c.N]...)
		tl.v.Release(c.Buf)
	}
	return got, false
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func TestVirtualPipe(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		run  func(t *testing.T, tl *testLoop, p *Pipe)
	}{
		{"rings-wrap-around-both-ways", func(t *testing.T, tl *testLoop, p *Pipe) {
			// 3,000 bytes at a time through 4 KiB rings: every second
			// write wraps.
			for i := range 10 {
				msg := pattern(3000 + i)
				if _, err := p.Write(ctx, [][]byte{msg[:1000], msg[1000:]}); err != nil {
					t.Fatal(err)
				}
				if got, _ := loopReadAll(t, tl, p, len(msg)); !bytes.Equal(got, msg) {
					t.Fatalf("write %d: the loop read other bytes", i)
				}
				if n, _ := virtualWritev(p.FD(), [][]byte{msg}); n != len(msg) {
					t.Fatalf("writev %d of %d", n, len(msg))
				}
				got := make([]byte, len(msg))
				if _, err := io.ReadFull(readerCtx{p}, got); err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("read %d: %v, other bytes", i, err)
				}
			}
		}},
		{"a-write-larger-than-the-ring-arrives-whole", func(t *testing.T, tl *testLoop, p *Pipe) {
			msg := pattern(5*p.Size() + 123)
			done := make(chan error, 1)
			go func() { _, err := p.Write(ctx, [][]byte{msg}); done <- err }()
			if got, _ := loopReadAll(t, tl, p, len(msg)); !bytes.Equal(got, msg) {
				t.Fatalf("the loop read %d bytes, not the %d written", len(got), len(msg))
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}},
		{"a-write-that-fits-waits-for-room-whole-or-not-at-all", func(t *testing.T, tl *testLoop, p *Pipe) {
			p.Write(ctx, [][]byte{pattern(p.Size() - 10)})
			short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			if n, err := p.Write(short, [][]byte{pattern(11)}); n != 0 || err != context.DeadlineExceeded {
				t.Fatalf("write into a full ring: %d, %v; want 0 and the deadline", n, err)
			}
			if b := p.toLoop.readable(); b != p.Size()-10 {
				t.Fatalf("%d bytes queued, want %d", b, p.Size()-10)
			}
		}},
		{"eof-after-closewrite-once-read", func(t *testing.T, tl *testLoop, p *Pipe) {
			p.Write(ctx, [][]byte{[]byte("abc")})
			p.CloseWrite()
			got, eof := loopReadAll(t, tl, p, 1<<20)
			if string(got) != "abc" || !eof {
				t.Fatalf("loop read %q, eof %v", got, eof)
			}
			if _, err := p.Write(ctx, [][]byte{[]byte("x")}); !errors.Is(err, ErrPipeClosed) {
				t.Fatalf("write after CloseWrite: %v", err)
			}
			// Go may still read.
			virtualWritev(p.FD(), [][]byte{[]byte("back")})
			Shutdown(p.FD())
			b := make([]byte, 10)
			if n, err := p.Read(ctx, b); string(b[:n]) != "back" || err != nil {
				t.Fatalf("read %q, %v", b[:n], err)
			}
			if _, err := p.Read(ctx, b); err != io.EOF {
				t.Fatalf("read after the loop's shutdown: %v, want io.EOF", err)
			}
		}},
		{"close-wakes-a-blocked-read-and-write", func(t *testing.T, tl *testLoop, p *Pipe) {
			p.Write(ctx, [][]byte{pattern(p.Size())})
			rd, wr := make(chan error, 1), make(chan error, 1)
			go func() { _, err := p.Read(ctx, make([]byte, 10)); rd <- err }()
			go func() { _, err := p.Write(ctx, [][]byte{[]byte("x")}); wr <- err }()
			time.Sleep(20 * time.Millisecond)
			p.Close()
			for _, ch := range []chan error{rd, wr} {
				select {
				case err := <-ch:
					if !errors.Is(err, ErrPipeClosed) {
						t.Fatalf("after Close: %v", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("Close left a call blocked")
				}
			}
		}},
		{"after-gos-close-read-and-write-say-closed-whatever-the-loop-did", func(t *testing.T, tl *testLoop, p *Pipe) {
			virtualWritev(p.FD(), [][]byte{[]byte("unread")})
			p.Close()
			Close(p.FD()) // the loop saw the end and closed its side too
			if _, err := p.Read(ctx, make([]byte, 10)); !errors.Is(err, ErrPipeClosed) {
				t.Fatalf("read after Close: %v, want ErrPipeClosed", err)
			}
			if _, err := p.Write(ctx, [][]byte{[]byte("x")}); !errors.Is(err, ErrPipeClosed) {
				t.Fatalf("write after Close: %v, want ErrPipeClosed", err)
			}
		}},
		{"the-loops-close-wakes-a-blocked-read-eof-and-write", func(t *testing.T, tl *testLoop, p *Pipe) {
			p.Write(ctx, [][]byte{pattern(p.Size())})
			rd, wr := make(chan error, 1), make(chan error, 1)
			go func() { _, err := p.Read(ctx, make([]byte, 10)); rd <- err }()
			go func() { _, err := p.Write(ctx, [][]byte{[]byte("x")}); wr <- err }()
			time.Sleep(20 * time.Millisecond)
			Close(p.FD())
			for want, ch := range map[error]chan error{io.EOF: rd, ErrPipeClosed: wr} {
				select {
				case err := <-ch:
					if !errors.Is(err, want) {
						t.Fatalf("after the loop's close: %v, want %v", err, want)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("the loop's close left a call blocked")
				}
			}
		}},
		{"cancel-drops-queued-completions-and-gives-back-buffers", func(t *testing.T, tl *testLoop, p *Pipe) {
			free := len(tl.v.bufs.free)
			p.Write(ctx, [][]byte{[]byte("queued")})
			tl.v.Recv(p.FD(), 3) // completes at once: queued for Wait
			if len(tl.v.ready) != 1 {
				t.Fatalf("%d completions queued, want the recv's", len(tl.v.ready))
			}
			tl.v.Cancel(p.FD())
			if c := tl.turn(); len(c) != 0 {
				t.Fatalf("after Cancel, Wait reported %v", c)
			}
			if got := len(tl.v.bufs.free); got != max(free, 1) {
				t.Fatalf("free buffers %d after Cancel, want %d", got, max(free, 1))
			}
			// A recv armed and held is disarmed: data later completes nothing.
			tl.v.Recv(p.FD(), 4)
			tl.v.Cancel(p.FD())
			p.Write(ctx, [][]byte{[]byte("later")})
			time.Sleep(10 * time.Millisecond)
			if c := tl.turn(); len(c) != 0 {
				t.Fatalf("a cancelled recv completed: %v", c)
			}
		}},
		{"abort-of-a-finished-send-is-reported-a-held-one-is-not", func(t *testing.T, tl *testLoop, p *Pipe) {
			tl.v.Send(p.FD(), [][]byte{[]byte("done")}, 5)
			if !tl.v.Abort(p.FD(), 5) {
				t.Fatal("Abort of a send that copied its bytes: false, want true (its completion will come)")
			}
			if c := tl.turn(); len(c) != 1 || c[0].N != 4 {
				t.Fatalf("completions %v", c)
			}
			virtualWritev(p.FD(), [][]byte{pattern(p.Size() - 4)}) // the ring is full
			tl.v.Send(p.FD(), [][]byte{[]byte("held")}, 6)
			if tl.v.Abort(p.FD(), 6) {
				t.Fatal("Abort of a held send: true, want false (nothing was written)")
			}
			io.ReadFull(readerCtx{p}, make([]byte, p.Size()))
			time.Sleep(10 * time.Millisecond)
			if c := tl.turn(); len(c) != 0 {
				t.Fatalf("an aborted send completed: %v", c)
			}
			if p.Buffered() != 0 {
				t.Fatalf("an aborted send wrote %d bytes", p.Buffered())
			}
		}},
		{"send-to-a-closed-go-end-is-epipe", func(t *testing.T, tl *testLoop, p *Pipe) {
			p.Close()
			tl.v.Send(p.FD(), [][]byte{[]byte("x")}, 7)
			if c := tl.until(t, KindSend, 1); c[0].Err == 0 {
				t.Fatalf("send to a closed pipe: %+v", c[0])
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tl := newTestLoop()
			c.run(t, tl, acceptedPipe(t, tl, 0))
		})
	}
}

// readerCtx reads a Pipe as an io.Reader.
type readerCtx struct{ p *Pipe }

func (r readerCtx) Read(b []byte) (int, error) { return r.p.Read(context.Background(), b) }

func mustListen(t *testing.T, size int) *Listener {
	t.Helper()
	ln, err := Listen(size)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
