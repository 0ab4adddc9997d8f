package endpoints

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// A unix socket file's mode and owner decide who may connect (connecting
// needs write permission on it), so they must be right before anyone can
// reach it, and set on the socket itself: a chmod by path after the bind
// follows whatever is at the path by then, and whoever may write in the
// directory can put a symlink there (to a file of theirs, to /etc/shadow).
// So the socket is bound inside a private directory (0700, ours) made next
// to its path, given its mode and owner there, where nobody else can swap
// it, and renamed into place: rename(2) replaces what is at the path (a
// symlink included) without following it.

// testHookBound, if set, runs once the socket is bound, before its mode
// is set and it is put in place: a test plays the attacker there.
var testHookBound func(path string)

// bindPrivately binds a unix socket of typ at path (a stream socket also
// listens) with mode perm and owner uid:gid (-1: unchanged).
func bindPrivately(path string, typ int, perm os.FileMode, uid, gid int) (fd int, err error) {
	tmp, err := os.MkdirTemp(filepath.Dir(path), ".pxroute-bind-")
	if err != nil {
		return -1, fmt.Errorf("a private directory to bind %s in: %w", path, err)
	}
	defer os.Remove(tmp) // empty once the socket is renamed out of it
	dir, err := openPrivateDir(tmp)
	if err != nil {
		return -1, err
	}
	defer unix.Close(dir)
	// Through /proc the name reaches the very directory dir is open on,
	// whatever is renamed meanwhile, and it is short: the socket path
	// limit (107 bytes) does not apply to the temporary name.
	sa := &unix.SockaddrUnix{Name: "/proc/self/fd/" + strconv.Itoa(dir) + "/s"}
	if fd, err = bindOn(sa, typ, nil); errors.Is(err, unix.ENOENT) {
		// No /proc: the directory's own name. Should it be swapped, the
		// socket lands elsewhere and the chmod below finds nothing.
		sa.Name = filepath.Join(tmp, "s")
		fd, err = bindOn(sa, typ, nil)
	}
	if err != nil {
		return -1, fmt.Errorf("%s: %w", path, err)
	}
	if testHookBound != nil {
		testHookBound(path)
	}
	fail := func(op string, err error) (int, error) {
		unix.Close(fd)
		unix.Unlinkat(dir, "s", 0)
		return -1, &os.PathError{Op: op, Path: path, Err: err}
	}
	if err := unix.Fchmodat(dir, "s", uint32(perm), 0); err != nil {
		return fail("chmod", err)
	}
	if uid >= 0 || gid >= 0 {
		if err := unix.Fchownat(dir, "s", uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fail("chown", err)
		}
	}
	if err := unix.Renameat(dir, "s", unix.AT_FDCWD, path); err != nil {
		return fail("rename", err)
	}
	return fd, nil
}

// openPrivateDir opens the directory MkdirTemp just made, checking that
// it is still ours alone (it could have been swapped by then).
func openPrivateDir(tmp string) (int, error) {
	dir, err := unix.Open(tmp, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: tmp, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(dir, &st); err != nil {
		unix.Close(dir)
		return -1, os.NewSyscallError("fstat", err)
	}
	if int(st.Uid) != os.Geteuid() || st.Mode&0o077 != 0 {
		unix.Close(dir)
		return -1, fmt.Errorf("%s: the private directory to bind in was replaced", tmp)
	}
	return dir, nil
}
