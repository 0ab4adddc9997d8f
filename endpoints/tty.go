package endpoints

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/contract"
)

// termiosSettings are what a device endpoint sets on a terminal: speed,
// character size, parity, stop bits, flow control, and raw mode (no echo,
// no line editing, no translation: bytes pass unchanged).
type termiosSettings struct {
	set      bool // any key given
	baud     uint32
	dataBits int
	parity   string // none, even, odd
	stopBits int
	flow     string // none, rtscts, xonxoff
	raw      bool
}

var bauds = map[int64]uint32{
	1200: unix.B1200, 2400: unix.B2400, 4800: unix.B4800, 9600: unix.B9600,
	19200: unix.B19200, 38400: unix.B38400, 57600: unix.B57600,
	115200: unix.B115200, 230400: unix.B230400, 460800: unix.B460800,
	500000: unix.B500000, 576000: unix.B576000, 921600: unix.B921600,
	1000000: unix.B1000000, 1152000: unix.B1152000, 1500000: unix.B1500000,
	2000000: unix.B2000000, 2500000: unix.B2500000, 3000000: unix.B3000000,
	3500000: unix.B3500000, 4000000: unix.B4000000,
}

func parseTermios(p Params) termiosSettings {
	t := termiosSettings{dataBits: 8, parity: "none", stopBits: 1, flow: "none", raw: true}
	if b, ok := p.Size("baud"); ok {
		t.set = true
		if t.baud, ok = bauds[b]; !ok {
			p.Errorf("baud", "baud %d: want a standard rate such as 9600 or 115200", b)
		}
	}
	if n, ok := p.Size("data_bits"); ok {
		t.set = true
		if n < 5 || n > 8 {
			p.Errorf("data_bits", "data_bits must be 5, 6, 7 or 8")
		}
		t.dataBits = int(n)
	}
	if s, ok := p.String("parity"); ok {
		t.set = true
		if s != "none" && s != "even" && s != "odd" {
			p.Errorf("parity", "parity %q: want none, even or odd", s)
		}
		t.parity = s
	}
	if n, ok := p.Size("stop_bits"); ok {
		t.set = true
		if n != 1 && n != 2 {
			p.Errorf("stop_bits", "stop_bits must be 1 or 2")
		}
		t.stopBits = int(n)
	}
	if s, ok := p.String("flow_control"); ok {
		t.set = true
		if s != "none" && s != "rtscts" && s != "xonxoff" {
			p.Errorf("flow_control", "flow_control %q: want none, rtscts or xonxoff", s)
		}
		t.flow = s
	}
	if r, ok := p.Bool("raw"); ok {
		t.set = true
		t.raw = r
	}
	return t
}

// apply sets the terminal on fd.
func (t termiosSettings) apply(fd int) error {
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return os.NewSyscallError("tcgetattr", err)
	}
	if t.raw {
		tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		tio.Oflag &^= unix.OPOST
		tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 1, 0
	}
	tio.Cflag |= unix.CREAD | unix.CLOCAL
	tio.Cflag &^= unix.CSIZE
	tio.Cflag |= map[int]uint32{5: unix.CS5, 6: unix.CS6, 7: unix.CS7, 8: unix.CS8}[t.dataBits]
	tio.Cflag &^= unix.PARENB | unix.PARODD
	switch t.parity {
	case "even":
		tio.Cflag |= unix.PARENB
	case "odd":
		tio.Cflag |= unix.PARENB | unix.PARODD
	}
	tio.Cflag &^= unix.CSTOPB
	if t.stopBits == 2 {
		tio.Cflag |= unix.CSTOPB
	}
	tio.Cflag &^= unix.CRTSCTS
	tio.Iflag &^= unix.IXON | unix.IXOFF | unix.IXANY
	switch t.flow {
	case "rtscts":
		tio.Cflag |= unix.CRTSCTS
	case "xonxoff":
		tio.Iflag |= unix.IXON | unix.IXOFF
	}
	if t.baud != 0 {
		tio.Cflag &^= unix.CBAUD
		tio.Cflag |= t.baud
		tio.Ispeed, tio.Ospeed = t.baud, t.baud
	}
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, tio); err != nil {
		return os.NewSyscallError("tcsetattr", err)
	}
	return nil
}

// deviceEndpoint is a character device opened by path: a serial port (with
// termios settings), or /dev/zero, /dev/urandom, /dev/null and the like as
// sources and sinks.
type deviceEndpoint struct {
	base
	path  string
	read  bool
	write bool
	tio   termiosSettings
}

func newDevice(p Params) Endpoint {
	e := &deviceEndpoint{base: base{opts: parseSettings(p)}, read: true, write: true}
	path, ok := p.String("path")
	switch m, _ := p.String("mode"); m {
	case "", "readwrite":
	case "read":
		e.write = false
	case "write":
		e.read = false
	default:
		p.Errorf("mode", "device mode %q: want read, write or readwrite", m)
	}
	e.tio = parseTermios(p)
	if !ok || path == "" {
		p.Errorf("path", "device needs a path")
		return nil
	}
	e.path = path
	return e
}

func (e *deviceEndpoint) Kind() string        { return "device" }
func (e *deviceEndpoint) Role() contract.Role { return contract.RoleOpen }
func (e *deviceEndpoint) Readable() bool      { return e.read }
func (e *deviceEndpoint) Writable() bool      { return e.write }
func (e *deviceEndpoint) String() string      { return "device " + e.path }

func (e *deviceEndpoint) Open() (int, error) {
	flags := unix.O_RDWR
	switch {
	case !e.write:
		flags = unix.O_RDONLY
	case !e.read:
		flags = unix.O_WRONLY
	}
	fd, err := unix.Open(e.path, flags|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: e.path, Err: err}
	}
	_, terr := unix.IoctlGetTermios(fd, unix.TCGETS)
	isTTY := terr == nil
	switch {
	case isTTY:
		err = e.tio.apply(fd) // raw by default even with no keys: bytes pass unchanged
	case e.tio.set:
		err = fmt.Errorf("%s is not a terminal: baud, parity and the like do not apply", e.path)
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func (e *deviceEndpoint) Release(fd int) error { return closeFD(fd) }

var _ Endpoint = (*deviceEndpoint)(nil)

// ptyEndpoint allocates a pseudo-terminal: the router holds the master, and
// a program that expects a serial port opens the slave, found at link: (a
// symlink made for it) or in the log. The slave is set raw, and kept open
// by the router so that the master does not read an error between users.
type ptyEndpoint struct {
	base
	link string
	tio  termiosSettings

	mu     sync.Mutex
	slaves map[int]int    // master -> the slave the router keeps open
	names  map[int]string // master -> slave path
}

func newPTY(p Params) Endpoint {
	e := &ptyEndpoint{base: base{opts: parseSettings(p)}, slaves: map[int]int{}, names: map[int]string{}}
	e.link, _ = p.String("link")
	e.tio = parseTermios(p)
	return e
}

func (e *ptyEndpoint) Kind() string        { return "pty" }
func (e *ptyEndpoint) Role() contract.Role { return contract.RoleOpen }
func (e *ptyEndpoint) Readable() bool      { return true }
func (e *ptyEndpoint) Writable() bool      { return true }
func (e *ptyEndpoint) String() string {
	if e.link != "" {
		return "pty " + e.link
	}
	return "pty"
}

func (e *ptyEndpoint) Open() (int, error) {
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: "/dev/ptmx", Err: err}
	}
	fail := func(err error) (int, error) {
		unix.Close(master)
		return -1, err
	}
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fail(os.NewSyscallError("unlockpt", err))
	}
	n, err := unix.IoctlGetUint32(master, unix.TIOCGPTN)
	if err != nil {
		return fail(os.NewSyscallError("ptsname", err))
	}
	name := fmt.Sprintf("/dev/pts/%d", n)
	slave, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(&os.PathError{Op: "open", Path: name, Err: err})
	}
	if err := e.tio.apply(slave); err != nil {
		unix.Close(slave)
		return fail(err)
	}
	if e.link != "" {
		if err := replaceSymlink(name, e.link); err != nil {
			unix.Close(slave)
			return fail(err)
		}
	}
	e.mu.Lock()
	e.slaves[master], e.names[master] = slave, name
	e.mu.Unlock()
	return master, nil
}

// SlavePath is the terminal programs open, for logs and tests; empty if
// none is open.
func (e *ptyEndpoint) SlavePath() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, n := range e.names {
		return n
	}
	return ""
}

// replaceSymlink points link at target, replacing an old symlink but never
// anything else.
func replaceSymlink(target, link string) error {
	if fi, err := os.Lstat(link); err == nil {
		if fi.Mode()&os.ModeSymlink == 0 {
			return fmt.Errorf("%s exists and is not a symlink", link)
		}
		if err := os.Remove(link); err != nil {
			return err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.Symlink(target, link)
}

func (e *ptyEndpoint) Release(fd int) error {
	e.mu.Lock()
	slave, ok := e.slaves[fd]
	name := e.names[fd]
	delete(e.slaves, fd)
	delete(e.names, fd)
	e.mu.Unlock()
	if ok {
		unix.Close(slave)
		if e.link != "" {
			if t, err := os.Readlink(e.link); err == nil && t == name {
				os.Remove(e.link)
			}
		}
	}
	return closeFD(fd)
}

var _ Endpoint = (*ptyEndpoint)(nil)
