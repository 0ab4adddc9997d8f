package endpoints

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/contract"
)

// fileEndpoint reads a file from the start, follows one like tail -F, or
// writes one (append or truncate). Regular files are served by the
// completion worker pool; a followed file comes through a pipe its
// follower goroutine fills.
type fileEndpoint struct {
	base
	path  string
	mode  string // read, follow, append, truncate
	flags int
	perm  uint32
	// follow settings
	fromEnd bool
	poll    time.Duration
	// followLinks is follow_symlinks: open through a symlink at path.
	followLinks bool
	log         atomic.Pointer[slog.Logger]

	mu      sync.Mutex
	writers map[int]bool          // open write descriptors, for Reopen
	follows map[int]chan struct{} // follower of each pipe read end, to stop it
}

// DefaultFollowPoll is how often a followed file at its end is checked for
// growth, truncation and rotation.
const DefaultFollowPoll = 200 * time.Millisecond

func newFile(p Params) Endpoint {
	e := &fileEndpoint{base: base{opts: parseSettings(p)}, mode: "read", perm: 0o644, poll: DefaultFollowPoll}
	path, ok := p.String("path")
	if m, ok := p.String("mode"); ok {
		e.mode = m
	}
	from, hasFrom := p.String("from")
	poll, hasPoll := p.Duration("poll")
	if (hasFrom || hasPoll) && e.mode != "follow" {
		p.Errorf("from", "from: and poll: apply to mode follow")
	}
	if !ok || path == "" {
		p.Errorf("path", "file needs a path")
		return nil
	}
	e.path = path
	e.followLinks = parseFollowSymlinks(p)
	switch e.mode {
	case "read", "follow":
		e.flags = unix.O_RDONLY
	case "append":
		e.flags = unix.O_WRONLY | unix.O_CREAT | unix.O_APPEND
	case "truncate":
		e.flags = unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC
	default:
		p.Errorf("mode", "file mode %q: want read, follow, append or truncate", e.mode)
		return nil
	}
	switch from {
	case "", "end":
		e.fromEnd = e.mode == "follow"
	case "start":
	default:
		p.Errorf("from", "from %q: want start or end", from)
	}
	if hasPoll {
		if poll < time.Millisecond || poll > time.Minute {
			p.Errorf("poll", "poll must be between 1ms and 1m")
		} else {
			e.poll = poll
		}
	}
	return e
}

func (e *fileEndpoint) Kind() string        { return "file" }
func (e *fileEndpoint) Role() contract.Role { return contract.RoleOpen }
func (e *fileEndpoint) Readable() bool      { return e.mode == "read" || e.mode == "follow" }
func (e *fileEndpoint) Writable() bool      { return !e.Readable() }
func (e *fileEndpoint) String() string      { return fmt.Sprintf("file %s %s", e.mode, e.path) }

func (e *fileEndpoint) Open() (int, error) {
	if e.mode == "follow" {
		return e.follow()
	}
	fd, err := openPath("open", e.path, e.flags|unix.O_NONBLOCK, e.perm, e.followLinks)
	if err != nil {
		return -1, err
	}
	if e.Writable() {
		e.mu.Lock()
		if e.writers == nil {
			e.writers = map[int]bool{}
		}
		e.writers[fd] = true
		e.mu.Unlock()
	}
	return fd, nil
}

// Reopen points every open write descriptor at a fresh open of the path,
// for log rotation (SIGHUP): the loops keep writing to the same descriptor
// numbers, now the new file. The new file is appended to, never truncated.
// What is at the path now must be the kind of file that was opened there
// (a regular file stays one), and a symlink planted since is not followed
// (unless follow_symlinks): otherwise the descriptor is left as it was.
func (e *fileEndpoint) Reopen() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for fd := range e.writers {
		nfd, err := e.reopenLike(fd)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		// dup3 swaps what fd refers to in one step; a write in flight
		// finishes on the old file, which it holds.
		if err := unix.Dup3(nfd, fd, unix.O_CLOEXEC); err != nil {
			errs = append(errs, &os.PathError{Op: "reopen", Path: e.path, Err: err})
		}
		unix.Close(nfd)
	}
	return errors.Join(errs...)
}

// reopenLike opens the path afresh for appending, if what is there is the
// same kind of file as fd. The kind is looked at before the open (opening
// a fifo or device is not harmless) and checked again on the descriptor.
func (e *fileEndpoint) reopenLike(fd int) (int, error) {
	was, err := fdType(fd)
	if err != nil {
		return -1, err
	}
	changed := func(now uint32) error {
		return fmt.Errorf("reopen %s: %s is now %s, was %s: not reopened", e.path, e.path, typeName(now), typeName(was))
	}
	var st unix.Stat_t
	statFlags := unix.AT_SYMLINK_NOFOLLOW
	if e.followLinks {
		statFlags = 0
	}
	switch err := unix.Fstatat(unix.AT_FDCWD, e.path, &st, statFlags); {
	case err == nil && fileType(&st) == unix.S_IFLNK:
		return -1, pathError("reopen", e.path, unix.ELOOP, false)
	case err == nil && fileType(&st) != was:
		return -1, changed(fileType(&st))
	}
	nfd, err := openPath("reopen", e.path, unix.O_WRONLY|unix.O_CREAT|unix.O_APPEND|unix.O_NONBLOCK, e.perm, e.followLinks)
	if err != nil {
		return -1, err
	}
	if now, err := fdType(nfd); err != nil || now != was {
		unix.Close(nfd)
		if err != nil {
			return -1, err
		}
		return -1, changed(now)
	}
	return nfd, nil
}

// SetLogger gives a follow endpoint the router's logger, to say when it
// waits for its file.
func (e *fileEndpoint) SetLogger(l *slog.Logger) { e.log.Store(l) }

func (e *fileEndpoint) logger() *slog.Logger {
	if l := e.log.Load(); l != nil {
		return l
	}
	return slog.Default().With("endpoint", e.String())
}

func (e *fileEndpoint) Release(fd int) error {
	e.mu.Lock()
	delete(e.writers, fd)
	if stop, ok := e.follows[fd]; ok {
		close(stop)
		delete(e.follows, fd)
	}
	e.mu.Unlock()
	return closeFD(fd)
}

// follow opens the file and starts its follower; the endpoint reads the
// pipe it fills.
func (e *fileEndpoint) follow() (int, error) {
	f, err := e.openFollowed()
	switch {
	case errors.Is(err, os.ErrNotExist):
		f = nil // like tail -F: wait for it to appear, then read it all
		e.logger().Info("waiting for file", "path", e.path)
	case err != nil:
		return -1, err
	}
	if f != nil && e.fromEnd {
		if _, err := f.Seek(0, io.SeekEnd); err != nil {
			f.Close()
			return -1, err
		}
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		if f != nil {
			f.Close()
		}
		return -1, os.NewSyscallError("pipe2", err)
	}
	if err := unix.SetNonblock(p[0], true); err != nil {
		if f != nil {
			f.Close()
		}
		unix.Close(p[0])
		unix.Close(p[1])
		return -1, os.NewSyscallError("fcntl", err)
	}
	stop := make(chan struct{})
	e.mu.Lock()
	if e.follows == nil {
		e.follows = map[int]chan struct{}{}
	}
	e.follows[p[0]] = stop
	e.mu.Unlock()
	fl := &follower{path: e.path, open: e.openFollowed, log: e.logger(), waiting: f == nil, f: f, out: os.NewFile(uintptr(p[1]), "follow-pipe"), poll: e.poll, stop: stop}
	go fl.run()
	return p[0], nil
}

// openFollowed opens the followed file for reading, through a symlink
// only if follow_symlinks says so.
func (e *fileEndpoint) openFollowed() (*os.File, error) {
	fd, err := openPath("open", e.path, unix.O_RDONLY, 0, e.followLinks)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), e.path), nil
}

var (
	_ Endpoint = (*fileEndpoint)(nil)
	_ Logged   = (*fileEndpoint)(nil)
)

// stdioEndpoint is the process's standard input or output.
type stdioEndpoint struct {
	base
	fd int // 0 or 1
}

func newStdio(p Params, fd int) Endpoint {
	return &stdioEndpoint{base: base{opts: parseSettings(p)}, fd: fd}
}

func (e *stdioEndpoint) Kind() string {
	if e.fd == 0 {
		return "stdin"
	}
	return "stdout"
}
func (e *stdioEndpoint) Role() contract.Role { return contract.RoleOpen }
func (e *stdioEndpoint) Readable() bool      { return e.fd == 0 }
func (e *stdioEndpoint) Writable() bool      { return e.fd == 1 }
func (e *stdioEndpoint) String() string      { return e.Kind() }

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
