package endpoints

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// fileEndpoint reads a file from the start, or writes one (append or
// truncate). Regular files are served by the completion worker pool.
type fileEndpoint struct {
	base
	path  string
	mode  string // read, append, truncate
	flags int
	perm  uint32
}

func newFile(p Params) Endpoint {
	e := &fileEndpoint{base: base{opts: parseOptions(p)}, mode: "read", perm: 0o644}
	path, ok := p.String("path")
	if m, ok := p.String("mode"); ok {
		e.mode = m
	}
	if !ok || path == "" {
		p.Errorf("path", "file needs a path")
		return nil
	}
	e.path = path
	switch e.mode {
	case "read":
		e.flags = unix.O_RDONLY
	case "append":
		e.flags = unix.O_WRONLY | unix.O_CREAT | unix.O_APPEND
	case "truncate":
		e.flags = unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC
	default:
		p.Errorf("mode", "file mode %q: want read, append or truncate", e.mode)
		return nil
	}
	return e
}

func (e *fileEndpoint) Kind() string   { return "file" }
func (e *fileEndpoint) Mode() Mode     { return Open }
func (e *fileEndpoint) Readable() bool { return e.mode == "read" }
func (e *fileEndpoint) Writable() bool { return e.mode != "read" }
func (e *fileEndpoint) String() string { return fmt.Sprintf("file %s %s", e.mode, e.path) }

func (e *fileEndpoint) Open() (int, error) {
	fd, err := unix.Open(e.path, e.flags|unix.O_NONBLOCK|unix.O_CLOEXEC, e.perm)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: e.path, Err: err}
	}
	return fd, nil
}

func (e *fileEndpoint) Release(fd int) error { return closeFD(fd) }

var _ Endpoint = (*fileEndpoint)(nil)

// stdioEndpoint is the process's standard input or output.
type stdioEndpoint struct {
	base
	fd int // 0 or 1
}

func newStdio(p Params, fd int) Endpoint {
	return &stdioEndpoint{base: base{opts: parseOptions(p)}, fd: fd}
}

func (e *stdioEndpoint) Kind() string {
	if e.fd == 0 {
		return "stdin"
	}
	return "stdout"
}
func (e *stdioEndpoint) Mode() Mode     { return Open }
func (e *stdioEndpoint) Readable() bool { return e.fd == 0 }
func (e *stdioEndpoint) Writable() bool { return e.fd == 1 }
func (e *stdioEndpoint) String() string { return e.Kind() }

// Open gives a descriptor of its own for the stream. A terminal or pipe is
// reopened through /proc, which makes a new open file description: setting
// it non-blocking then leaves the shared one (and so stderr on a terminal,
// and the Go runtime's own os.Stdout) blocking. Where that is impossible
// (a socket), a dup is made non-blocking. A regular file is dup'ed as it is.
func (e *stdioEndpoint) Open() (int, error) {
	var st unix.Stat_t
	if err := unix.Fstat(e.fd, &st); err != nil {
		return -1, os.NewSyscallError("fstat", err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		// A redirected file: share its offset and append flag (a reopen
		// would start writing at 0 under ">>").
		fd, err := unix.FcntlInt(uintptr(e.fd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			return -1, os.NewSyscallError("dup", err)
		}
		return fd, nil
	}
	flags := unix.O_RDONLY
	if e.fd == 1 {
		flags = unix.O_WRONLY
	}
	fd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", e.fd), flags|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == nil {
		return fd, nil
	}
	fd, err = unix.FcntlInt(uintptr(e.fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return -1, os.NewSyscallError("dup", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("fcntl", err)
	}
	return fd, nil
}

func (e *stdioEndpoint) Release(fd int) error { return closeFD(fd) }

var _ Endpoint = (*stdioEndpoint)(nil)
