package completion

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Writev writes iov to fd with one writev(2) and no allocation: scratch holds
// the kernel iovec array between calls. Empty slices are skipped. A virtual
// fd (a Pipe) takes what fits its ring, EAGAIN when nothing does.
func Writev(fd int, iov [][]byte, scratch *[]unix.Iovec) (int, error) {
	if IsVirtual(fd) {
		return virtualWritev(fd, iov)
	}
	v := (*scratch)[:0]
	for _, b := range iov {
		if len(b) == 0 {
			continue
		}
		if len(v) == 1024 { // IOV_MAX
			break
		}
		var e unix.Iovec
		e.Base = &b[0]
		e.SetLen(len(b))
		v = append(v, e)
	}
	*scratch = v
	if len(v) == 0 {
		return 0, nil
	}
	n, _, e := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&v[0])), uintptr(len(v)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
