package completion

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Virtual descriptors number in-process connections (Pipe) and their
// listeners (Listener) from virtualBase up, far above any descriptor the
// kernel hands out (RLIMIT_NOFILE's ceiling, nr_open, is 2^20 by
// default), and are never reused, so a stale number finds nothing. Every
// Port a Loop serves understands them (virtualPort), and Close, Shutdown
// and Writev here do for them what the syscalls do for real ones.
const virtualBase = 1 << 40

var (
	virtualNext  atomic.Int64
	virtualTable sync.Map // fd -> *Pipe or *Listener
)

// IsVirtual reports whether fd is a virtual descriptor.
func IsVirtual(fd int) bool { return fd >= virtualBase }

func register(v any) int {
	fd := virtualBase + int(virtualNext.Add(1))
	virtualTable.Store(fd, v)
	return fd
}

func unregister(fd int) { virtualTable.Delete(fd) }

func lookupPipe(fd int) *Pipe {
	v, _ := virtualTable.Load(fd)
	p, _ := v.(*Pipe)
	return p
}

func lookupListener(fd int) *Listener {
	v, _ := virtualTable.Load(fd)
	l, _ := v.(*Listener)
	return l
}

// Close closes fd, real or virtual. A Pipe's Go end sees end of stream
// once it has read what was written; a Listener's pending dials are
// closed.
func Close(fd int) error {
	if !IsVirtual(fd) {
		return unix.Close(fd)
	}
	v, ok := virtualTable.LoadAndDelete(fd)
	if !ok {
		return unix.EBADF
	}
	switch v := v.(type) {
	case *Pipe:
		v.loopClose()
	case *Listener:
		v.close()
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
