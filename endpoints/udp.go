package endpoints

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/contract"
)

// udpEndpoint is a UDP socket, one message per datagram. listen binds a
// socket that receives from any sender (like socat's UDP-RECV); connect
// sends to one address and receives only from it. A listen socket does
// not answer: replies need a connect endpoint aimed at the sender.
type udpEndpoint struct {
	base
	mode  contract.Role
	addr  string
	in    inetAddr
	bound boundAddr
}

func newUDP(p Params) Endpoint {
	e := &udpEndpoint{base: base{opts: parseSettings(p)}}
	e.opts.Framing = datagramFramingOf(p, "udp sockets")
	if e.opts.MaxFrame > MaxDatagram {
		e.opts.MaxFrame = MaxDatagram
	}
	e.mode, e.addr = listenOrConnect(p)
	parseReconnect(p, e.mode, &e.opts)
	if e.addr == "" {
		return nil
	}
	in, err := parseInetAddr(e.addr)
	if err != nil {
		p.Errorf(e.mode.String(), "%v", err)
		return nil
	}
	e.in = in
	return e
}

func (e *udpEndpoint) Kind() string { return "udp" }

// Role: a listen socket is bound once at start and read like a stream of
// datagrams; connect goes through the loop's connect, and so reconnects.
func (e *udpEndpoint) Role() contract.Role {
	if e.mode == contract.RoleListen {
		return contract.RoleOpen
	}
	return contract.RoleConnect
}
func (e *udpEndpoint) Readable() bool       { return true }
func (e *udpEndpoint) Writable() bool       { return e.mode == contract.RoleConnect }
func (e *udpEndpoint) String() string       { return "udp " + e.mode.String() + " " + e.addr }
func (e *udpEndpoint) Resolve() error       { return e.in.resolve() }
func (e *udpEndpoint) Release(fd int) error { return closeFD(fd) }

// Open binds the receiving socket of a listen.
func (e *udpEndpoint) Open() (int, error) {
	if e.mode != contract.RoleListen {
		return e.base.Open()
	}
	fd, err := bindOn(e.in.sa, unix.SOCK_DGRAM, func(fd int) error {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
		return nil
	})
	if err != nil {
		return -1, privilegedHint(e.addr, err)
	}
	e.bound.record(fd)
	return fd, nil
}

// BoundAddr is the address bound, port 0 resolved; empty before Open.
func (e *udpEndpoint) BoundAddr() string { return e.bound.BoundAddr() }

func (e *udpEndpoint) Socket() (int, unix.Sockaddr, error) {
	if e.mode != contract.RoleConnect {
		return e.base.Socket()
	}
	fd, err := socketFor(e.in.sa, unix.SOCK_DGRAM)
	return fd, copySockaddr(e.in.sa), err
}

var _ Endpoint = (*udpEndpoint)(nil)
