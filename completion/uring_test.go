package completion

import (
	"runtime"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// multishotPair gives an io_uring port with multishot recv, on this
// goroutine's thread as a loop's is, and a socket pair: fd for the port,
// peer for the test.
func multishotPair(t *testing.T) (p *uringPort, fd, peer int) {
	t.Helper()
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	port, err := NewUring()
	if err != nil {
		t.Skipf("io_uring cannot run here: %v", err)
	}
	t.Cleanup(func() { port.Close() })
	p = port.(*uringPort)
	if !p.multishotRecv {
		t.Fatalf("multishot recv is off on this kernel: %v", p.Notes())
	}
	sv, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(sv[0]); unix.Close(sv[1]) })
	return p, sv[0], sv[1]
}

// Multishot recv: one submission serves many results; results that come
// while the owner is not asking wait in order; a full backlog stops the
// multishot (the rest stays in the socket) and the next Recv re-arms it.
func TestUringMultishotRecv(t *testing.T) {
	p, fd, peer := multishotPair(t)

	recv := func() string {
		t.Helper()
		if err := p.Recv(fd, 7); err != nil {
			t.Fatal(err)
		}
		c := waitKind(t, p, KindRecv)
		if c.Err != 0 || c.Token != 7 {
			t.Fatalf("recv: %+v", c)
		}
		s := string(c.Buf.B[:c.N])
		p.Release(c.Buf)
		return s
	}
	unix.Write(peer, []byte("one"))
	if got := recv(); got != "one" {
		t.Fatalf("got %q", got)
	}
	if p.fds.at(fd).ms == 0 {
		t.Fatal("no multishot recv armed after the first Recv")
	}
	// Nobody asks now: results queue up to msBacklog, then it stops.
	for i, m := range []string{"two", "three", "four"} {
		unix.Write(peer, []byte(m))
		// Wait for this message to land in the backlog, unless the
		// multishot has stopped (then it stays in the socket).
		deadline := time.Now().Add(5 * time.Second)
		for p.fds.at(fd).ms != 0 && len(p.fds.at(fd).early()) <= i && time.Now().Before(deadline) {
			backlog[p], _ = p.Wait(backlog[p], false)
			time.Sleep(time.Millisecond)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.fds.at(fd).ms != 0 && time.Now().Before(deadline) {
		backlog[p], _ = p.Wait(backlog[p], false)
		time.Sleep(time.Millisecond)
	}
	if p.fds.at(fd).ms != 0 || len(p.fds.at(fd).early()) < msBacklog {
		t.Fatalf("backlog %d, multishot armed %v: want it stopped at %d", len(p.fds.at(fd).early()), p.fds.at(fd).ms != 0, msBacklog)
	}
	// Every byte comes out, in order: the backlog first, then the socket.
	var got string
	for len(got) < len("twothreefour") {
		got += recv()
	}
	if got != "twothreefour" {
		t.Fatalf("got %q", got)
	}
	if p.fds.at(fd).ms == 0 {
		t.Fatal("multishot not re-armed once the backlog drained")
	}
}

// The per-descriptor state is held by every loop for every descriptor
// number (idle connections' memory): a new field must not grow it.
func TestUringFDSize(t *testing.T) {
	if got := unsafe.Sizeof(uringFD{}); got != 40 {
		t.Fatalf("uringFD is %d bytes, want 40", got)
	}
}

// Every idle connection holds an op slot (its multishot recv): 48 bytes is
// a size class of its own; a new field must go to uringOpIO instead.
func TestUringOpSize(t *testing.T) {
	if got := unsafe.Sizeof(uringOp{}); got != 48 {
		t.Fatalf("uringOp is %d bytes, want 48", got)
	}
}

// A multishot recv may stay in flight for its connection's life: its
// slot keeps nothing of an earlier use (a writev's iovecs, a Pinner's
// store), which every idle connection would otherwise hold.
func TestUringMultishotSlotKeepsNothingOfItsPast(t *testing.T) {
	p, fd, peer := multishotPair(t)
	if err := p.Send(fd, [][]byte{[]byte("two "), []byte("buffers")}, 3); err != nil {
		t.Fatal(err)
	}
	if c := waitKind(t, p, KindSend); c.Err != 0 || c.N != len("two buffers") {
		t.Fatalf("send: %+v", c)
	}
	slot := p.freeOps[len(p.freeOps)-1]
	if p.ops[slot].io == nil {
		t.Fatal("the test expects a writev to leave its iovecs with its slot")
	}
	unix.Write(peer, []byte("x"))
	if err := p.Recv(fd, 7); err != nil {
		t.Fatal(err)
	}
	if c := waitKind(t, p, KindRecv); c.Err != 0 || c.N != 1 {
		t.Fatalf("recv: %+v", c)
	} else {
		p.Release(c.Buf)
	}
	ms := p.fds.at(fd).ms
	if ms == 0 || ms-1 != slot {
		t.Fatalf("multishot slot %d, want the send's freed slot %d", int(ms)-1, slot)
	}
	if op := p.ops[slot]; op.io != nil || op.pin != (runtime.Pinner{}) {
		t.Fatalf("the multishot's slot keeps iovecs %v, a pinner %v", op.io != nil, op.pin != (runtime.Pinner{}))
	}
}
