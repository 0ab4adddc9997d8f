package endpoints

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// unixEndpoint listens on or connects to a unix stream socket.
type unixEndpoint struct {
	base
	mode     Mode
	path     string
	sa       *unix.SockaddrUnix
	listenFD atomic.Int64 // the live listening socket, to unlink its path once
}

func newUnix(p Params) Endpoint {
	e := &unixEndpoint{base: base{opts: parseOptions(p)}}
	e.mode, e.path = listenOrConnect(p)
	if e.path == "" {
		return nil
	}
	if len(e.path) >= 108 {
		p.Errorf(e.mode.String(), "socket path is %d bytes; the limit is 107", len(e.path))
		return nil
	}
	e.sa = &unix.SockaddrUnix{Name: e.path}
	e.listenFD.Store(-1)
	return e
}

func (e *unixEndpoint) Kind() string   { return "unix" }
func (e *unixEndpoint) Mode() Mode     { return e.mode }
func (e *unixEndpoint) Readable() bool { return true }
func (e *unixEndpoint) Writable() bool { return true }
func (e *unixEndpoint) String() string { return "unix " + e.mode.String() + " " + e.path }

func (e *unixEndpoint) Listen() (int, error) {
	if e.mode != Listen {
		return e.base.Listen()
	}
	if err := removeStaleSocket(e.path); err != nil {
		return -1, err
	}
	fd, err := listenOn(e.sa, nil)
	if err != nil {
		return -1, err
	}
	e.listenFD.Store(int64(fd))
	return fd, nil
}

// removeStaleSocket removes path if it is a socket nobody listens on. A live
// socket, or anything that is not a socket, is left alone and reported.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	switch err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err {
	case nil:
		return fmt.Errorf("%s: another process is listening there", path)
	case unix.ECONNREFUSED:
		return os.Remove(path)
	default:
		return fmt.Errorf("%s: %w", path, err)
	}
}

// BoundAddr is the socket path once listening.
func (e *unixEndpoint) BoundAddr() string {
	if e.listenFD.Load() >= 0 {
		return e.path
	}
	return ""
}

func (e *unixEndpoint) Socket() (int, unix.Sockaddr, error) {
	if e.mode != Connect {
		return e.base.Socket()
	}
	fd, err := socketFor(e.sa, unix.SOCK_STREAM)
	return fd, copySockaddr(e.sa), err
}

func (e *unixEndpoint) Release(fd int) error {
	if e.listenFD.CompareAndSwap(int64(fd), -1) {
		os.Remove(e.path) // best effort: it may have been replaced meanwhile
	}
	return closeFD(fd)
}

var _ Endpoint = (*unixEndpoint)(nil)
