package endpoints

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/contract"
)

// listenBacklog is the accept queue asked for; the kernel caps it at
// net.core.somaxconn.
const listenBacklog = 4096

// socketFor makes a non-blocking, close-on-exec socket for sa.
func socketFor(sa unix.Sockaddr, typ int) (int, error) {
	family := unix.AF_INET
	switch sa.(type) {
	case *unix.SockaddrInet6:
		family = unix.AF_INET6
	case *unix.SockaddrUnix:
		family = unix.AF_UNIX
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}

// listenOn binds and listens on sa, with prepare run on the socket first.
func listenOn(sa unix.Sockaddr, prepare func(fd int) error) (int, error) {
	return bindOn(sa, unix.SOCK_STREAM, prepare)
}

// bindOn makes a socket of typ bound to sa, with prepare run on it first;
// a stream socket also listens.
func bindOn(sa unix.Sockaddr, typ int, prepare func(fd int) error) (int, error) {
	fd, err := socketFor(sa, typ)
	if err != nil {
		return -1, err
	}
	if prepare != nil {
		if err := prepare(fd); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("bind", err)
	}
	if typ != unix.SOCK_STREAM {
		return fd, nil
	}
	if err := unix.Listen(fd, listenBacklog); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("listen", err)
	}
	return fd, nil
}

// inetAddr is a parsed "host:port". A literal IP is turned into a socket
// address at once; a host name waits for resolve, so that loading or
// checking a topology never touches the network.
type inetAddr struct {
	host string
	port int
	sa   unix.Sockaddr // nil until resolved
}

// parseInetAddr checks "host:port" without resolving anything. An empty
// host is refused: a wildcard must be written out (0.0.0.0 or [::]).
func parseInetAddr(addr string) (inetAddr, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return inetAddr{}, err
	}
	if host == "" {
		return inetAddr{}, fmt.Errorf("address %q has no host: write 0.0.0.0 or [::] to listen on every interface", addr)
	}
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return inetAddr{}, fmt.Errorf("address %q: bad port", addr)
	}
	a := inetAddr{host: host, port: int(pn)}
	if ip := net.ParseIP(host); ip != nil {
		a.sa = ipSockaddr(ip, a.port)
	} else if !validHostname(host) {
		return inetAddr{}, fmt.Errorf("address %q: %q is neither an IP address nor a host name", addr, host)
	}
	return a, nil
}

// validHostname accepts RFC 1123 names: dot-separated labels of letters,
// digits and inner hyphens (underscores too, as resolvers do).
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
			if !ok {
				return false
			}
		}
	}
	return true
}

// resolve looks a host name up (an IP literal needs nothing), preferring
// IPv4 as dialers usually do.
func (a *inetAddr) resolve() error {
	if a.sa != nil {
		return nil
	}
	ips, err := net.LookupIP(a.host)
	if err != nil || len(ips) == 0 {
		return fmt.Errorf("cannot resolve host %q: %v", a.host, err)
	}
	ip := ips[0]
	for _, cand := range ips {
		if cand.To4() != nil {
			ip = cand
			break
		}
	}
	a.sa = ipSockaddr(ip, a.port)
	return nil
}

func ipSockaddr(ip net.IP, port int) unix.Sockaddr {
	if v4 := ip.To4(); v4 != nil {
		sa := &unix.SockaddrInet4{Port: port}
		copy(sa.Addr[:], v4)
		return sa
	}
	sa := &unix.SockaddrInet6{Port: port}
	copy(sa.Addr[:], ip.To16())
	return sa
}

// tcpEndpoint listens on or connects to a TCP address.
type tcpEndpoint struct {
	base
	mode    contract.Role
	addr    string
	in      inetAddr
	bound   boundAddr // what Listen bound
	tlsHook           // tls: (tls_endpoint.go)
}

func newTCP(p Params) Endpoint {
	e := &tcpEndpoint{base: base{opts: parseStreamSettings(p)}}
	e.mode, e.addr = listenOrConnect(p)
	parseReconnect(p, e.mode, &e.opts)
	parseListenLimits(p, e.mode, &e.opts)
	parseSndBuf(p, &e.opts)
	if e.addr == "" {
		return nil
	}
	addr, ok := e.addr, true
	if e.mode == contract.RoleConnect {
		addr, ok = wsConnectAddr(p, e.addr, e.opts.Framing) // ws_url.go
	}
	if !ok {
		return nil
	}
	in, err := parseInetAddr(addr)
	if err != nil {
		p.Errorf(e.mode.String(), "%v", err)
		return nil
	}
	e.in = in
	tl := parseTLS(p, e.mode, in.host, true, e.opts.Framing)
	if wsURL(e.addr) {
		wsCheckTLS(p, e.addr, tl != nil)
	}
	e.secureWith(tl, &e.opts)
	return e
}

// listenOrConnect reads the one of listen: and connect: that is set.
func listenOrConnect(p Params) (contract.Role, string) {
	l, hasL := p.String("listen")
	c, hasC := p.String("connect")
	switch {
	case hasL && hasC:
		p.Errorf("connect", "set listen or connect, not both")
	case hasL:
		if l == "" {
			p.Errorf("listen", "empty address")
		}
		return contract.RoleListen, l
	case hasC:
		if c == "" {
			p.Errorf("connect", "empty address")
		}
		return contract.RoleConnect, c
	default:
		p.Errorf("", "needs listen: or connect:")
	}
	return 0, ""
}

func (e *tcpEndpoint) Kind() string        { return "tcp" }
func (e *tcpEndpoint) Role() contract.Role { return e.mode }
func (e *tcpEndpoint) Readable() bool      { return true }
func (e *tcpEndpoint) Writable() bool      { return true }
func (e *tcpEndpoint) String() string      { return "tcp " + e.mode.String() + " " + e.addr }

func (e *tcpEndpoint) Listen() (int, error) {
	if e.mode != contract.RoleListen {
		return e.base.Listen()
	}
	fd, err := listenOn(e.in.sa, func(fd int) error {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
		if err := setSndBuf(fd, e.opts.SndBuf); err != nil {
			return err
		}
		// Accepted sockets inherit it: the loops batch writes themselves,
		// so Nagle would only add latency.
		return setNoDelay(fd)
	})
	if err != nil {
		return -1, privilegedHint(e.addr, err)
	}
	e.bound.record(fd)
	return fd, nil
}

// boundAddr remembers the address an inet socket bound (port 0 resolved),
// for BoundAddr; tcp and udp share it.
type boundAddr struct{ p atomic.Pointer[string] }

func (b *boundAddr) record(fd int) {
	if sa, err := unix.Getsockname(fd); err == nil {
		s := sockaddrString(sa)
		b.p.Store(&s)
	}
}

// BoundAddr is the address bound, with port 0 resolved; empty before the
// socket is bound.
func (b *boundAddr) BoundAddr() string {
	if p := b.p.Load(); p != nil {
		return *p
	}
	return ""
}

func sockaddrString(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	case *unix.SockaddrInet6:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	case *unix.SockaddrUnix:
		return a.Name
	}
	return ""
}

func (e *tcpEndpoint) Socket() (int, unix.Sockaddr, error) {
	if e.mode != contract.RoleConnect {
		return e.base.Socket()
	}
	return tcpConnectSocket(e.in.sa, e.opts.SndBuf)
}

// tcpConnectSocket makes a stream socket to connect to sa: no Nagle delay,
// the endpoint's send buffer, and a private copy of sa.
func tcpConnectSocket(sa unix.Sockaddr, sndBuf int) (int, unix.Sockaddr, error) {
	fd, err := socketFor(sa, unix.SOCK_STREAM)
	if err != nil {
		return -1, nil, err
	}
	if err := setNoDelay(fd); err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	if err := setSndBuf(fd, sndBuf); err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	return fd, copySockaddr(sa), nil
}

// copySockaddr returns a private copy: x/sys/unix marshals a Sockaddr into
// a buffer inside it, so one value shared by two loops is a data race.
func copySockaddr(sa unix.Sockaddr) unix.Sockaddr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &unix.SockaddrInet4{Port: a.Port, Addr: a.Addr}
	case *unix.SockaddrInet6:
		return &unix.SockaddrInet6{Port: a.Port, ZoneId: a.ZoneId, Addr: a.Addr}
	case *unix.SockaddrUnix:
		return &unix.SockaddrUnix{Name: a.Name}
	}
	return sa
}

// Resolve looks the host name up, once, before the router starts.
func (e *tcpEndpoint) Resolve() error { return e.in.resolve() }

func (e *tcpEndpoint) Release(fd int) error { return closeFD(fd) }

// Bounds of sndbuf. The kernel doubles what it is given (for its own
// bookkeeping) and caps it at net.core.wmem_max.
const (
	minSndBuf = 1 << 10
	maxSndBuf = 1 << 30
)

// parseSndBuf reads sndbuf, which stream sockets take: the kernel's send
// buffer for each connection. What sits there has left the router's
// queue, so the marks do not see it; a small sndbuf keeps a peer that
// stops reading from taking much more than high_water.
func parseSndBuf(p Params, o *contract.Settings) {
	n, ok := p.Size("sndbuf")
	switch {
	case !ok:
	case n < minSndBuf || n > maxSndBuf:
		p.Errorf("sndbuf", "sndbuf must be between 1KiB and 1GiB")
	default:
		o.SndBuf = int(n)
	}
}

// setSndBuf sets SO_SNDBUF on fd; n == 0 leaves the kernel's default.
func setSndBuf(fd, n int) error {
	if n == 0 {
		return nil
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, n); err != nil {
		return os.NewSyscallError("setsockopt SO_SNDBUF", err)
	}
	return nil
}

func setNoDelay(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		return os.NewSyscallError("setsockopt TCP_NODELAY", err)
	}
	return nil
}

var _ Endpoint = (*tcpEndpoint)(nil)

// BoundAddr is the address the listener bound, with port 0 resolved; empty
// before Listen.
func (e *tcpEndpoint) BoundAddr() string { return e.bound.BoundAddr() }

var (
	_ Bound = (*tcpEndpoint)(nil)
	_ Bound = (*udpEndpoint)(nil)
)
