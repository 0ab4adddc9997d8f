package completion

import (
	"golang.org/x/sys/unix"
)

// spliceNow moves up to n bytes from in to out without blocking (EAGAIN
// when it would), retrying on EINTR. Pages move rather than copy.
func spliceNow(in, out, n int) (int, error) {
	for {
		moved, err := unix.Splice(in, nil, out, nil, n, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		if err != unix.EINTR {
			return int(max(moved, 0)), err
		}
	}
}
