package completion

import (
	"errors"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Virtual descriptors number in-process connections (Pipe) and their
// listeners (Listener) from virtualBase up, far above any descriptor the
// kernel hands out (RLIMIT_NOFILE's ceiling, nr_open, is 2^20 by
// default). Every Port a Loop serves understands them (virtualPort), and
// Close, Shutdown and Writev here do for them what the syscalls do for
// real ones. Like the kernel's, a number is reused once closed, so its
// owner must not use it after Close.
//
// The table is read on every operation, from the loops: a lookup is two
// atomic loads, never a lock. Making and closing descriptors, which
// happens once a connection, takes the table's mutex.
const virtualBase = 1 << 40

const (
	vChunkBits = 12
	vChunk     = 1 << vChunkBits
	vChunks    = 1 << 14 // 2^26 descriptors open at once
)

type vEntry struct{ v any } // *Pipe or *Listener

var virtualTable struct {
	chunks [vChunks]atomic.Pointer[[vChunk]atomic.Pointer[vEntry]]
	mu     sync.Mutex
	next   int   // slots below it have been handed out
	free   []int // closed slots, reused first
}

// ErrTooManyVirtual: every virtual descriptor is open.
var ErrTooManyVirtual = errors.New("too many in-process connections open (2^26)")

// IsVirtual reports whether fd is a virtual descriptor.
func IsVirtual(fd int) bool { return fd >= virtualBase }

func register(v any) (int, error) {
	t := &virtualTable
	t.mu.Lock()
	defer t.mu.Unlock()
	var slot int
	if n := len(t.free); n > 0 {
		slot, t.free = t.free[n-1], t.free[:n-1]
	} else {
		if t.next == vChunks*vChunk {
			return -1, ErrTooManyVirtual
		}
		slot = t.next
		t.next++
		if t.chunks[slot>>vChunkBits].Load() == nil {
			t.chunks[slot>>vChunkBits].Store(new([vChunk]atomic.Pointer[vEntry]))
		}
	}
	t.chunks[slot>>vChunkBits].Load()[slot&(vChunk-1)].Store(&vEntry{v})
	return virtualBase + slot, nil
}

// unregister frees fd's number and returns what it named, or nil.
func unregister(fd int) any {
	e := entry(fd)
	if e == nil {
		return nil
	}
	t := &virtualTable
	t.mu.Lock()
	defer t.mu.Unlock()
	slot := fd - virtualBase
	if !t.chunks[slot>>vChunkBits].Load()[slot&(vChunk-1)].CompareAndSwap(e, nil) {
		return nil // closed twice at once: the other took it
	}
	t.free = append(t.free, slot)
	return e.v
}

func entry(fd int) *vEntry {
	slot := fd - virtualBase
	if slot < 0 || slot >= vChunks*vChunk {
		return nil
	}
	c := virtualTable.chunks[slot>>vChunkBits].Load()
	if c == nil {
		return nil
	}
	return c[slot&(vChunk-1)].Load()
}

func lookupPipe(fd int) *Pipe {
	if e := entry(fd); e != nil {
		p, _ := e.v.(*Pipe)
		return p
	}
	return nil
}

func lookupListener(fd int) *Listener {
	if e := entry(fd); e != nil {
		l, _ := e.v.(*Listener)
		return l
	}
	return nil
}

// Close closes fd, real or virtual. A Pipe's Go end sees end of stream
// once it has read what was written; a Listener's pending dials are
// closed.
func Close(fd int) error {
	if !IsVirtual(fd) {
		return unix.Close(fd)
	}
	switch v := unregister(fd).(type) {
	case *Pipe:
		v.loopClose()
	case *Listener:
		v.close()
	default:
		return unix.EBADF
	}
	return nil
}

// Shutdown ends fd's write side (shutdown(2) with SHUT_WR).
func Shutdown(fd int) error {
	if !IsVirtual(fd) {
		return unix.Shutdown(fd, unix.SHUT_WR)
	}
	p := lookupPipe(fd)
	if p == nil {
		return unix.ENOTSOCK
	}
	p.loopShutdown()
	return nil
}

// Getpeername is getpeername(2) for fd, real or virtual: a virtual one
// has no peer address (ENOTSOCK). It must not reach the kernel, whose fd
// is an int: it would name the real descriptor its low 32 bits number.
func Getpeername(fd int) (unix.Sockaddr, error) {
	if IsVirtual(fd) {
		return nil, unix.ENOTSOCK
	}
	return unix.Getpeername(fd)
}
