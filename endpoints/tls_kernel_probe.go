package endpoints

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// Whether the kernel takes TLS records at all is asked once per process,
// on a loopback pair of its own (the tls ULP attaches only to an
// established TCP socket), and remembered: a kernel without CONFIG_TLS
// answers ENOENT, and it would answer the same for every connection.
// Which ciphers it takes is learnt per suite from the first connection
// that tries (kernelRefusals): a kernel older than a cipher refuses its
// TLS_TX, and is not asked again for that suite either.

// kernelTLSProbe runs its probe once and keeps the answer.
type kernelTLSProbe struct {
	once  sync.Once
	probe func() error
	err   error
}

func (p *kernelTLSProbe) unavailable() error {
	p.once.Do(func() { p.err = p.probe() })
	return p.err
}

var kernelTLS = &kernelTLSProbe{probe: probeKernelTLS}

// KernelTLSUnavailable says why this process's connections cannot hand
// their records to the kernel (nil: they can): the probe's error, such as
// `setsockopt TCP_ULP "tls": no such file or directory (CONFIG_TLS
// unset)`. Tests name it when they skip the kernel path.
func KernelTLSUnavailable() error { return kernelTLS.unavailable() }

// probeKernelTLS sets TCP_ULP "tls" on one end of a connected loopback
// TCP pair.
func probeKernelTLS() error {
	fds, err := tcpLoopbackPair()
	if err != nil {
		return fmt.Errorf("kernel TLS not probed: a loopback TCP pair: %w", err)
	}
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	return setULP(fds[0])
}

// setULP attaches the tls ULP to fd; its error says what the kernel said.
func setULP(fd int) error {
	err := unix.SetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_ULP, "tls")
	if err == nil {
		return nil
	}
	hint := ""
	if errors.Is(err, unix.ENOENT) {
		hint = " (CONFIG_TLS unset)" // no "tls" ULP registered, nor a module to load
	}
	return fmt.Errorf(`setsockopt TCP_ULP "tls": %w%s`, err, hint)
}

// tcpLoopbackPair is a connected TCP pair on 127.0.0.1: the listener is
// closed once the connection is accepted. It returns the connecting and
// the accepted end.
func tcpLoopbackPair() (fds []int, err error) {
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(ln)
	loop := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if err := unix.Bind(ln, loop); err != nil {
		return nil, fmt.Errorf("bind: %w", err)
	}
	if err := unix.Listen(ln, 1); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	addr, err := unix.Getsockname(ln)
	if err != nil {
		return nil, fmt.Errorf("getsockname: %w", err)
	}
	c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	if err := unix.Connect(c, addr); err != nil { // blocking, on loopback: at once
		unix.Close(c)
		return nil, fmt.Errorf("connect: %w", err)
	}
	a, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
	if err != nil {
		unix.Close(c)
		return nil, fmt.Errorf("accept: %w", err)
	}
	return []int{c, a}, nil
}

// kernelRefusals remembers the suites whose keys the kernel refused
// (version<<16 | cipher id): their connections go to the record layer on
// the loop without asking again.
var kernelRefusals sync.Map // uint32 -> error

func kernelSuiteKey(version uint16, kc kernelCipher) uint32 {
	return uint32(version)<<16 | uint32(kc.id)
}
