package topology

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/endpoints"
	"github.com/pxroute/pxroute/opcodes"
)

// hint adds what to do to a start error whose cause is not obvious from
// the errno: binding a port below 1024 is refused (EACCES) to a process
// without CAP_NET_BIND_SERVICE, whatever the port's owner.
func (b bound) hint(fd int, err error) (int, error) {
	if err == nil || !errors.Is(err, unix.EACCES) {
		return fd, err
	}
	if port, ok := listenPort(b.e); ok && port > 0 && port < 1024 {
		return fd, fmt.Errorf("%w (ports below 1024 need CAP_NET_BIND_SERVICE, or root: use a port from 1024 up, or setcap cap_net_bind_service=+ep on the binary)", err)
	}
	return fd, err
}

// listenPort is the port of a tcp or udp listen endpoint, from its
// description ("tcp listen 127.0.0.1:80"), which names its address as
// written.
func listenPort(e endpoints.Endpoint) (int, bool) {
	f := strings.Fields(fmt.Sprint(e))
	if len(f) != 3 || (f[0] != "tcp" && f[0] != "udp") || f[1] != "listen" {
		return 0, false
	}
	_, port, err := net.SplitHostPort(f[2])
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(port)
	return n, err == nil
}

// StartError says that endpoint i of c could not be made ready to start
// (a name that did not resolve), as the runtime says of one that could not
// open: with its position in the topology and its address.
func (c *Compiled) StartError(i int, err error) error {
	e := &opcodes.StartError{Endpoint: c.Prog.Endpoints[i], What: fmt.Sprint(c.Endpoints[i]), Err: err}
	if c.Topology != nil && i < len(c.Topology.Endpoints) {
		d := c.Topology.Endpoints[i]
		e.Pos = opcodes.Position{File: c.File, Line: d.Line, Col: d.Col}
	}
	return e
}
