package endpoints

import (
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// fdConn is a stream socket's duplicate descriptor as a net.Conn, for a
// handshake off the loop: an os.File over the non-blocking dup, which
// the runtime's poller takes as it is (deadlines work; a stalled peer
// parks the goroutine, not a thread). net.FileConn would dup the dup
// again and ask the kernel for both addresses up front: two descriptors,
// four more system calls a handshake for names crypto/tls does not use.
type fdConn struct{ *os.File }

// dupConn is fd as a net.Conn of its own: one dup, closed with it.
func dupConn(fd int) (net.Conn, error) {
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("fcntl", err)
	}
	// The machine's descriptors are non-blocking already (one fcntl to
	// check): os.NewFile puts only those in the poller.
	if err := unix.SetNonblock(dup, true); err != nil {
		unix.Close(dup)
		return nil, os.NewSyscallError("fcntl", err)
	}
	return fdConn{os.NewFile(uintptr(dup), "tls handshake")}, nil
}

// LocalAddr is the socket's own address, asked for when called (nil on
// an error).
func (c fdConn) LocalAddr() net.Addr { return c.addr(unix.Getsockname) }

// RemoteAddr is the peer's address, asked for when called (nil on an
// error).
func (c fdConn) RemoteAddr() net.Addr { return c.addr(unix.Getpeername) }

func (c fdConn) addr(get func(int) (unix.Sockaddr, error)) net.Addr {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	var sa unix.Sockaddr
	raw.Control(func(fd uintptr) { sa, err = get(int(fd)) })
	if err != nil {
		return nil
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *unix.SockaddrInet6:
		var zone string
		if a.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(a.ZoneId)); err == nil {
				zone = ifi.Name
			}
		}
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port, Zone: zone}
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: a.Name, Net: "unix"}
	}
	return nil
}
