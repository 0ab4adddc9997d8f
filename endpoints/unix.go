package endpoints

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/contract"
)

// unixEndpoint is a unix socket: stream (listen accepts connections) or
// datagram (listen binds one socket that receives; connect sends to a bound
// one). A path starting with @ is in the abstract namespace: no file, so
// nothing to remove, chmod or chown.
type unixEndpoint struct {
	base
	mode     contract.Role
	dgram    bool
	path     string
	sa       *unix.SockaddrUnix
	perm     os.FileMode  // socket file mode; 0: as umask leaves it
	uid, gid int          // socket file owner; -1: unchanged
	listenFD atomic.Int64 // the live bound socket, to unlink its path once
	tlsHook               // tls: (tls_endpoint.go), stream only
}

func newUnix(p Params) Endpoint {
	e := &unixEndpoint{base: base{opts: parseStreamSettings(p)}, uid: -1, gid: -1, perm: DefaultSocketMode}
	e.mode, e.path = listenOrConnect(p)
	parseReconnect(p, e.mode, &e.opts)
	parseListenLimits(p, e.mode, &e.opts)
	parseSndBuf(p, &e.opts)
	if len(e.opts.Admission.Allow)+len(e.opts.Admission.Deny) > 0 {
		p.Errorf("allow", "allow and deny filter IP addresses: they apply to tcp listeners, not unix")
	}
	switch typ, _ := p.String("type"); typ {
	case "", "stream":
	case "datagram":
		e.dgram = true
		e.opts.Framing = datagramFramingOf(p, "unix datagram sockets")
		if e.opts.SndBuf > 0 {
			p.Errorf("sndbuf", "sndbuf applies to stream sockets; a datagram socket sends each message whole")
		}
		if e.opts.Admission.MaxConns > 0 || e.opts.Admission.Rate > 0 {
			p.Errorf("max_conns", "a datagram socket accepts no connections: max_conns and accept_rate do not apply")
		}
	default:
		p.Errorf("type", "unix socket type %q: want stream or datagram", typ)
	}
	if perm, ok := p.String("mode"); ok {
		n, err := strconv.ParseUint(perm, 8, 32)
		if err != nil || n > 0o777 {
			p.Errorf("mode", "mode %q: want octal permissions such as \"0660\"", perm)
		}
		e.perm = os.FileMode(n)
	}
	if owner, ok := p.String("owner"); ok {
		var err error
		if e.uid, e.gid, err = parseOwner(owner); err != nil {
			p.Errorf("owner", "%v", err)
		}
	}
	if e.path == "" {
		return nil
	}
	abstract := e.path[0] == '@'
	if (e.perm != DefaultSocketMode || e.uid >= 0 || e.gid >= 0) && (e.mode != contract.RoleListen || abstract) {
		p.Errorf("mode", "mode and owner apply to the socket file of a unix listen path, not to %s", e.path)
	}
	if len(e.path) >= 108 {
		p.Errorf(e.mode.String(), "socket path is %d bytes; the limit is 107", len(e.path))
		return nil
	}
	e.sa = &unix.SockaddrUnix{Name: e.path}
	e.listenFD.Store(-1)
	tl := parseTLS(p, e.mode, "", !e.dgram, e.opts.Framing)
	if tl != nil {
		tl.kernelNever = "kernel TLS is TCP's, this is a unix socket"
	}
	e.secureWith(tl, &e.opts)
	return e
}

// DefaultSocketMode is a unix socket file's mode unless mode: says
// otherwise: only its owner may connect.
const DefaultSocketMode os.FileMode = 0o600

// datagramFramingOf is the framing of a datagram kind: datagram, and any
// other framing asked for is an error, since a datagram socket neither
// splits nor joins messages.
func datagramFramingOf(p Params, what string) contract.Framing {
	if name, ok := p.String("framing"); ok && name != "datagram" {
		p.Errorf("framing", "%s carry one message per datagram: framing must be datagram (or left out), not %q", what, name)
	}
	return Datagram
}

// parseOwner reads "user", "user:group", "uid" or "uid:gid"; a missing
// group leaves the group unchanged.
func parseOwner(s string) (uid, gid int, err error) {
	name, group, hasGroup := strings.Cut(s, ":")
	uid, gid = -1, -1
	if name != "" {
		if uid, err = strconv.Atoi(name); err != nil {
			u, lerr := user.Lookup(name)
			if lerr != nil {
				return -1, -1, fmt.Errorf("owner %q: no such user", s)
			}
			uid, _ = strconv.Atoi(u.Uid)
		}
	}
	if hasGroup && group != "" {
		if gid, err = strconv.Atoi(group); err != nil {
			g, lerr := user.LookupGroup(group)
			if lerr != nil {
				return -1, -1, fmt.Errorf("owner %q: no such group", s)
			}
			gid, _ = strconv.Atoi(g.Gid)
		}
	}
	return uid, gid, nil
}

func (e *unixEndpoint) Kind() string { return "unix" }

// Role is how the machine gets the socket: a bound datagram socket is
// opened once and receives from anyone.
func (e *unixEndpoint) Role() contract.Role {
	if e.dgram && e.mode == contract.RoleListen {
		return contract.RoleOpen
	}
	return e.mode
}
func (e *unixEndpoint) Readable() bool { return true }

// Writable: a bound datagram socket only receives.
func (e *unixEndpoint) Writable() bool { return !(e.dgram && e.mode == contract.RoleListen) }
func (e *unixEndpoint) String() string {
	typ := ""
	if e.dgram {
		typ = " datagram"
	}
	return "unix" + typ + " " + e.mode.String() + " " + e.path
}

func (e *unixEndpoint) sockType() int {
	if e.dgram {
		return unix.SOCK_DGRAM
	}
	return unix.SOCK_STREAM
}

func (e *unixEndpoint) Listen() (int, error) {
	if e.mode != contract.RoleListen || e.dgram {
		return e.base.Listen()
	}
	return e.bind()
}

// Open binds the receiving socket of a datagram listen.
func (e *unixEndpoint) Open() (int, error) {
	if e.mode != contract.RoleListen || !e.dgram {
		return e.base.Open()
	}
	return e.bind()
}

func (e *unixEndpoint) bind() (int, error) {
	if e.path[0] == '@' {
		fd, err := bindOn(e.sa, e.sockType(), nil)
		if err != nil {
			return -1, err
		}
		e.listenFD.Store(int64(fd))
		return fd, nil
	}
	if err := removeStaleSocket(e.path, e.sockType()); err != nil {
		return -1, err
	}
	fd, err := bindPrivately(e.path, e.sockType(), e.perm, e.uid, e.gid)
	if err != nil {
		return -1, err
	}
	e.listenFD.Store(int64(fd))
	return fd, nil
}

// removeStaleSocket removes path if it is a socket nobody is bound to. A
// live socket, or anything that is not a socket, is left alone and
// reported.
func removeStaleSocket(path string, typ int) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	switch err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err {
	case nil:
		return fmt.Errorf("%s: another process is bound there", path)
	case unix.ECONNREFUSED:
		return os.Remove(path)
	case unix.EPROTOTYPE:
		return fmt.Errorf("%s: a socket of another type (stream or datagram) is bound there", path)
	default:
		return fmt.Errorf("%s: %w", path, err)
	}
}

// BoundAddr is the socket path once bound.
func (e *unixEndpoint) BoundAddr() string {
	if e.listenFD.Load() >= 0 {
		return e.path
	}
	return ""
}

func (e *unixEndpoint) Socket() (int, unix.Sockaddr, error) {
	if e.mode != contract.RoleConnect {
		return e.base.Socket()
	}
	fd, err := socketFor(e.sa, e.sockType())
	if err == nil && !e.dgram {
		if err = setSndBuf(fd, e.opts.SndBuf); err != nil {
			unix.Close(fd)
			return -1, nil, err
		}
	}
	return fd, copySockaddr(e.sa), err
}

func (e *unixEndpoint) Release(fd int) error {
	if e.listenFD.CompareAndSwap(int64(fd), -1) && e.path[0] != '@' {
		os.Remove(e.path) // best effort: it may have been replaced meanwhile
	}
	return closeFD(fd)
}

var _ Endpoint = (*unixEndpoint)(nil)
