package completion

import "golang.org/x/sys/unix"

// Pollable reports whether fd can be waited on for readiness. Regular files,
// directories and block devices always look ready and block instead, so
// their I/O must not be tried inline on a loop.
func Pollable(fd int) bool {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFDIR, unix.S_IFBLK:
		return false
	}
	return true
}
