package completion

import (
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ports lists every backend this package builds; each test runs over all.
// A test using a port must stay on one thread, as a Loop does: an
// io_uring made SINGLE_ISSUER refuses other threads (EEXIST).
var ports = []struct {
	name string
	make func() (Port, error)
}{
	{"epoll", NewEpoll},
	{"io_uring", NewUring},
}

// eachPort runs body over every backend, on a locked thread, with a fresh
// port closed at the end.
func eachPort(t *testing.T, body func(t *testing.T, p Port)) {
	for _, pt := range ports {
		t.Run(pt.name, func(t *testing.T) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			p, err := pt.make()
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			body(t, p)
		})
	}
}

// backlog keeps completions reaped while waiting for another kind.
var backlog = map[Port][]Completion{}

var noTimer bool

// waitKind reaps until a completion of kind arrives or the deadline passes.
func waitKind(t *testing.T, p Port, kind Kind) Completion {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for i, c := range backlog[p] {
			if c.Kind == kind {
				backlog[p] = append(backlog[p][:i], backlog[p][i+1:]...)
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %v completion", kind)
		}
		if !noTimer {
			p.After(50*time.Millisecond, 0) // bound each wait
		}
		var err error
		backlog[p], err = p.Wait(backlog[p], true)
		if err != nil {
			t.Fatal(err)
		}
	}
}

func listener(t *testing.T) (int, *unix.SockaddrInet4) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	sa := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if err := unix.Bind(fd, sa); err != nil {
		t.Fatal(err)
	}
	unix.Listen(fd, 16)
	got, _ := unix.Getsockname(fd)
	t.Cleanup(func() { unix.Close(fd) })
	return fd, got.(*unix.SockaddrInet4)
}

// Accept, connect, send and recv over a real loopback connection, then
// end of stream.
func TestPortSocketLifecycle(t *testing.T) {
	eachPort(t, func(t *testing.T, p Port) {
		lfd, addr := listener(t)
		if err := p.Accept(lfd, 1); err != nil {
			t.Fatal(err)
		}
		cfd, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		defer unix.Close(cfd)
		if err := p.Connect(cfd, addr, 2); err != nil {
			t.Fatal(err)
		}
		if c := waitKind(t, p, KindConnect); c.Token != 2 || c.Err != 0 {
			t.Fatalf("connect: %+v", c)
		}
		ac := waitKind(t, p, KindAccept)
		if ac.Token != 1 || ac.Err != 0 || ac.N <= 0 {
			t.Fatalf("accept: %+v", ac)
		}
		sfd := ac.N
		defer unix.Close(sfd)
		if err := p.Recv(sfd, 3); err != nil {
			t.Fatal(err)
		}
		msg := []byte("hello, port")
		if err := p.Send(cfd, [][]byte{msg[:5], msg[5:]}, 4); err != nil {
			t.Fatal(err)
		}
		if c := waitKind(t, p, KindSend); c.Token != 4 || c.N != len(msg) {
			t.Fatalf("send: %+v", c)
		}
		rc := waitKind(t, p, KindRecv)
		if rc.Token != 3 || string(rc.Buf.B[:rc.N]) != string(msg) {
			t.Fatalf("recv: %+v", rc)
		}
		p.Release(rc.Buf)
		// A second recv pending, then the peer half-closes: N == 0.
		p.Recv(sfd, 5)
		unix.Shutdown(cfd, unix.SHUT_WR)
		if c := waitKind(t, p, KindRecv); c.Token != 5 || c.N != 0 || c.Buf != nil {
			t.Fatalf("eof: %+v", c)
		}
	})
}

// Connecting to a closed port completes with ECONNREFUSED.
func TestPortConnectRefused(t *testing.T) {
	eachPort(t, func(t *testing.T, p Port) {
		lfd, addr := listener(t)
		unix.Close(lfd) // nobody listens there now
		fd, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		defer unix.Close(fd)
		p.Connect(fd, addr, 9)
		if c := waitKind(t, p, KindConnect); c.Err != unix.ECONNREFUSED {
			t.Fatalf("connect: %+v", c)
		}
	})
}

// Regular files go through the worker pool and still complete on the port.
func TestPortRegularFile(t *testing.T) {
	eachPort(t, func(t *testing.T, p Port) {
		path := t.TempDir() + "/f"
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		if Pollable(fd) {
			t.Fatal("a regular file reported pollable")
		}
		p.Send(fd, [][]byte{[]byte("file "), []byte("bytes")}, 1)
		if c := waitKind(t, p, KindSend); c.N != 10 {
			t.Fatalf("write: %+v", c)
		}
		unix.Seek(fd, 0, 0)
		p.Recv(fd, 2)
		c := waitKind(t, p, KindRecv)
		if string(c.Buf.B[:c.N]) != "file bytes" {
			t.Fatalf("read: %+v", c)
		}
		got, _ := os.ReadFile(path)
		if string(got) != "file bytes" {
			t.Fatalf("file holds %q", got)
		}
	})
}

// Timers fire in deadline order; Wake ends a blocked Wait from another
// goroutine.
func TestPortTimersAndWake(t *testing.T) {
	eachPort(t, func(t *testing.T, p Port) {
		p.After(30*time.Millisecond, 2)
		p.After(10*time.Millisecond, 1)
		var got []uint64
		for len(got) < 2 {
			cs, err := p.Wait(nil, true)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				got = append(got, c.Token)
			}
		}
		if got[0] != 1 || got[1] != 2 {
			t.Fatalf("timers fired as %v", got)
		}
		go func() {
			time.Sleep(20 * time.Millisecond)
			p.Wake()
		}()
		p.After(5*time.Second, 3) // the fallback if Wake were lost
		start := time.Now()
		if cs, _ := p.Wait(nil, true); len(cs) != 0 {
			t.Fatalf("woke with %v", cs)
		}
		if time.Since(start) > 4*time.Second {
			t.Fatal("Wake did not end the wait")
		}
	})
}

// Many producers, one consumer: every item arrives once, each producer's
// in order.
func TestInboxManyProducers(t *testing.T) {
	const producers, each = 8, 20000
	var q Inbox
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				q.Push([2]int{p, i})
			}
		}()
	}
	next := make([]int, producers)
	total := 0
	var buf []any
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		buf = q.Drain(buf[:0])
		for _, v := range buf {
			x := v.([2]int)
			if x[1] != next[x[0]] {
				t.Fatalf("producer %d: got %d, want %d", x[0], x[1], next[x[0]])
			}
			next[x[0]]++
			total++
		}
	}
	if buf = q.Drain(buf[:0]); len(buf) != 0 || total != producers*each || q.Depth() != 0 {
		t.Fatalf("total %d, left %d, depth %d", total, len(buf), q.Depth())
	}
}

// A send larger than the socket buffers, to a reader that reads slowly,
// completes in pieces until everything arrived: the port keeps waiting for
// writability after EAGAIN.
func TestPortSendOutlastsSocketBuffers(t *testing.T) {
	eachPort(t, func(t *testing.T, p Port) {
		lfd, addr := listener(t)
		cfd, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		defer unix.Close(cfd)
		unix.SetsockoptInt(cfd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4096)
		if err := unix.Connect(cfd, addr); err != nil {
			t.Fatal(err)
		}
		p.Accept(lfd, 1)
		sfd := waitKind(t, p, KindAccept).N
		defer unix.Close(sfd)
		p.Cancel(lfd)
		p.Recv(sfd, 7) // as the machine does: a recv stays pending
		const total = 16 << 20
		payload := make([]byte, total)
		got := make(chan int)
		start := make(chan struct{})
		go func() {
			<-start // read only once the sender is blocked, as slow peers do
			n := 0
			b := make([]byte, 4096)
			for n < total {
				m, err := unix.Read(cfd, b)
				if err != nil || m == 0 {
					break
				}
				n += m
			}
			got <- n
		}()
		// Like the interpreter: write inline until the socket is full,
		// then hand the rest to the port.
		sent := 0
		var scratch []unix.Iovec
		for {
			n, err := Writev(sfd, [][]byte{payload[sent:min(sent+65536, total)]}, &scratch)
			if err != nil {
				break
			}
			sent += n
		}
		close(start)   // the socket is full: now the peer starts reading
		noTimer = true // a missed edge must hang here, not be polled over
		defer func() { noTimer = false }()
		for sent < total {
			p.Send(sfd, [][]byte{payload[sent:]}, 2)
			c := waitKind(t, p, KindSend)
			if c.Err != 0 {
				t.Fatalf("send: %v", c.Err)
			}
			sent += c.N
		}
		if n := <-got; n != total {
			t.Fatalf("reader got %d of %d", n, total)
		}
	})
}

// Accept stays armed: several connections complete from one Accept call.
func TestPortAcceptStaysArmed(t *testing.T) {
	eachPort(t, func(t *testing.T, p Port) {
		lfd, addr := listener(t)
		if err := p.Accept(lfd, 1); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			fd, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			defer unix.Close(fd)
			if err := unix.Connect(fd, addr); err != nil {
				t.Fatal(err)
			}
			c := waitKind(t, p, KindAccept)
			if c.Err != 0 || c.N <= 0 {
				t.Fatalf("accept %d: %+v", i, c)
			}
			unix.Close(c.N)
		}
	})
}

// Splice moves a stream from one socket to another through a pipe, across
// EAGAIN on both sides, and reports end of stream as N == 0.
func TestPortSplice(t *testing.T) {
	eachPort(t, func(t *testing.T, p Port) {
		lfd, addr := listener(t)
		p.Accept(lfd, 1)
		pair := func() (client, server int) {
			c, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err := unix.Connect(c, addr); err != nil {
				t.Fatal(err)
			}
			return c, waitKind(t, p, KindAccept).N
		}
		srcClient, src := pair()           // we write into srcClient; the port splices from src
		dst, dstClient := pair()           // ... into dst; we read from dstClient
		unix.SetNonblock(dst, true)        // the port's descriptors are non-blocking,
		unix.SetNonblock(dstClient, false) // the test's own ends block
		p.Cancel(lfd)
		for _, fd := range []int{srcClient, src, dst, dstClient} {
			defer unix.Close(fd)
		}
		var pipe [2]int
		if err := unix.Pipe2(pipe[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		defer unix.Close(pipe[0])
		defer unix.Close(pipe[1])
		const total = 8 << 20
		go func() {
			defer unix.Shutdown(srcClient, unix.SHUT_WR)
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = byte(i)
			}
			for sent := 0; sent < total; sent += len(b) {
				// A blocking write a signal interrupts (the runtime's
				// preemption, SIGURG) returns what it wrote so far.
				for rest := b; len(rest) > 0; {
					n, err := unix.Write(srcClient, rest)
					if err == unix.EINTR {
						continue
					}
					if err != nil {
						t.Errorf("write: %v", err)
						return
					}
					rest = rest[n:]
				}
			}
		}()
		got := make(chan int)
		go func() {
			n, b := 0, make([]byte, 64<<10)
			for {
				m, err := unix.Read(dstClient, b)
				if m <= 0 || err != nil {
					break
				}
				for k := range m {
					if b[k] != byte(n+k) {
						t.Errorf("byte %d is %d", n+k, b[k])
						got <- n
						return
					}
				}
				n += m
			}
			got <- n
		}()
		moved := 0
		for {
			p.SpliceIn(src, pipe[1], 64<<10, 1)
			c := waitKind(t, p, KindSpliceIn)
			if c.Err != 0 {
				t.Fatalf("splice in: %v", c.Err)
			}
			if c.N == 0 {
				break
			}
			for left := c.N; left > 0; {
				p.SpliceOut(pipe[0], dst, left, 2)
				o := waitKind(t, p, KindSpliceOut)
				if o.Err != 0 || o.N <= 0 {
					t.Fatalf("splice out: %+v", o)
				}
				left -= o.N
				moved += o.N
			}
		}
		unix.Shutdown(dst, unix.SHUT_WR)
		if n := <-got; n != total || moved != total {
			t.Fatalf("moved %d, reader got %d, want %d", moved, n, total)
		}
	})
}
