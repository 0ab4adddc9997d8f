package endpoints

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"golang.org/x/sys/unix"
)

// privilegedHint adds what to do to a bind refused on addr (as written)
// whose cause is not obvious from the errno: binding a port below 1024 is
// refused (EACCES) to a process without CAP_NET_BIND_SERVICE, whatever
// the port's owner.
func privilegedHint(addr string, err error) error {
	if err == nil || !errors.Is(err, unix.EACCES) {
		return err
	}
	_, p, splitErr := net.SplitHostPort(addr)
	port, atoiErr := strconv.Atoi(p)
	if splitErr != nil || atoiErr != nil || port <= 0 || port >= 1024 {
		return err
	}
	return fmt.Errorf("%w (ports below 1024 need CAP_NET_BIND_SERVICE, or root: use a port from 1024 up, or setcap cap_net_bind_service=+ep on the binary)", err)
}
