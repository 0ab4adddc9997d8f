package endpoints

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Paths that file and fifo endpoints open are not followed through a
// symlink at their last component unless the topology says
// follow_symlinks: true: whoever may write in the directory could
// otherwise point a truncate, an append or a reopen on SIGHUP at a file of
// their choosing. (Symlinks in the directories above are the topology
// author's to trust; O_NOFOLLOW covers the last component only.)

// parseFollowSymlinks reads follow_symlinks (default false).
func parseFollowSymlinks(p Params) bool {
	follow, _ := p.Bool("follow_symlinks")
	return follow
}

// openPath opens path with flags, adding O_NOFOLLOW unless follow, and
// says plainly when a symlink was refused. op names the step in errors
// ("open", "reopen").
func openPath(op, path string, flags int, perm uint32, follow bool) (int, error) {
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, perm)
	if err != nil {
		return -1, pathError(op, path, err, follow)
	}
	return fd, nil
}

// pathError is err from opening path, an ELOOP under O_NOFOLLOW turned
// into what it means.
func pathError(op, path string, err error, follow bool) error {
	if !follow && errors.Is(err, unix.ELOOP) {
		return fmt.Errorf("%s %s: %s is a symlink, not followed unless follow_symlinks: true", op, path, path)
	}
	return &os.PathError{Op: op, Path: path, Err: err}
}

// fileType is the S_IFMT bits of st.
func fileType(st *unix.Stat_t) uint32 { return st.Mode & unix.S_IFMT }

// fdType is the S_IFMT bits of what fd is open on.
func fdType(fd int) (uint32, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, os.NewSyscallError("fstat", err)
	}
	return fileType(&st), nil
}

// typeName names a file type for errors.
func typeName(t uint32) string {
	switch t {
	case unix.S_IFREG:
		return "a regular file"
	case unix.S_IFIFO:
		return "a fifo"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFLNK:
		return "a symlink"
	case unix.S_IFSOCK:
		return "a socket"
	}
	return fmt.Sprintf("a file of type %#o", t)
}
