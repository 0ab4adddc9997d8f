package endpoints

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
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
}

func newFIFO(p Params) Endpoint {
	e := &fifoEndpoint{base: base{opts: parseOptions(p)}, create: true}
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
	return e
}

func (e *fifoEndpoint) Kind() string   { return "fifo" }
func (e *fifoEndpoint) Mode() Mode     { return Open }
func (e *fifoEndpoint) Readable() bool { return !e.write }
func (e *fifoEndpoint) Writable() bool { return e.write }
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
	var st unix.Stat_t
	if err := unix.Stat(e.path, &st); err != nil {
		return -1, &os.PathError{Op: "stat", Path: e.path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return -1, fmt.Errorf("%s exists and is not a fifo", e.path)
	}
	fd, err := unix.Open(e.path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: e.path, Err: err}
	}
	return fd, nil
}

func (e *fifoEndpoint) Release(fd int) error { return closeFD(fd) }

var _ Endpoint = (*fifoEndpoint)(nil)
