package endpoints

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/contract"
)

// fifoEndpoint is a named pipe, read or written, created if missing. It is
// opened read-write whichever way it is used: a reader then never sees end
// of stream when a writer goes (the next writer carries on), and a writer
// never fails for want of a reader (the pipe fills, then the high-water
// mark and overflow policy apply).
type fifoEndpoint struct {
	base
	path   string
	write  bool
	create bool
	// followLinks is follow_symlinks: open through a symlink at path.
	followLinks bool
}

func newFIFO(p Params) Endpoint {
	e := &fifoEndpoint{base: base{opts: parseSettings(p)}, create: true}
	path, ok := p.String("path")
	switch m, _ := p.String("mode"); m {
	case "", "read":
	case "write":
		e.write = true
	default:
		p.Errorf("mode", "fifo mode %q: want read or write", m)
	}
	if c, ok := p.Bool("create"); ok {
		e.create = c
	}
	if !ok || path == "" {
		p.Errorf("path", "fifo needs a path")
		return nil
	}
	e.path = path
	e.followLinks = parseFollowSymlinks(p)
	return e
}

func (e *fifoEndpoint) Kind() string        { return "fifo" }
func (e *fifoEndpoint) Role() contract.Role { return contract.RoleOpen }
func (e *fifoEndpoint) Readable() bool      { return !e.write }
func (e *fifoEndpoint) Writable() bool      { return e.write }
func (e *fifoEndpoint) String() string {
	if e.write {
		return "fifo write " + e.path
	}
	return "fifo read " + e.path
}

func (e *fifoEndpoint) Open() (int, error) {
	if e.create {
		if err := unix.Mkfifo(e.path, 0o660); err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, &os.PathError{Op: "mkfifo", Path: e.path, Err: err}
		}
	}
	// What is at the path is looked at before the open (opening a device
	// is not harmless) and again on the descriptor, where nobody can swap
	// it.
	var st unix.Stat_t
	statFlags := unix.AT_SYMLINK_NOFOLLOW
	if e.followLinks {
		statFlags = 0
	}
	if err := unix.Fstatat(unix.AT_FDCWD, e.path, &st, statFlags); err != nil {
		return -1, &os.PathError{Op: "stat", Path: e.path, Err: err}
	}
	switch t := fileType(&st); {
	case t == unix.S_IFLNK:
		return -1, pathError("open", e.path, unix.ELOOP, false)
	case t != unix.S_IFIFO:
		return -1, fmt.Errorf("%s exists and is %s, not a fifo", e.path, typeName(t))
	}
	fd, err := openPath("open", e.path, unix.O_RDWR|unix.O_NONBLOCK, 0, e.followLinks)
	if err != nil {
		return -1, err
	}
	if t, err := fdType(fd); err != nil || t != unix.S_IFIFO {
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		return -1, fmt.Errorf("%s exists and is %s, not a fifo", e.path, typeName(t))
	}
	return fd, nil
}

func (e *fifoEndpoint) Release(fd int) error { return closeFD(fd) }

var _ Endpoint = (*fifoEndpoint)(nil)
