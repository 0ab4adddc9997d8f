package contract

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Role is how an endpoint comes to have a connection: which of Listen,
// Socket and Open the machine calls.
type Role uint8

const (
	RoleListen  Role = iota + 1 // accepts any number of connections
	RoleConnect                 // connects out: one connection per open or dial
	RoleOpen                    // opens a path or stream (file, stdio): one per open or dial
)

func (r Role) String() string {
	switch r {
	case RoleListen:
		return "listen"
	case RoleConnect:
		return "connect"
	case RoleOpen:
		return "open"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Endpoint is what opens an endpoint's descriptors. The machine calls only
// the opener its Role names, from its loops (Socket, Open) or before they
// start (Listen, and Open of what must exist at start); Release is called
// once for every descriptor those returned, from the loop that owns it.
// All are non-blocking where the descriptor allows; an error names the
// cause and leaves nothing open.
type Endpoint interface {
	// Role says which of Listen, Socket and Open applies.
	Role() Role
	// Listen makes the non-blocking listening socket (RoleListen).
	Listen() (fd int, err error)
	// Socket makes a non-blocking socket and the address to connect it to
	// (RoleConnect).
	Socket() (fd int, sa unix.Sockaddr, err error)
	// Open opens the endpoint's stream (RoleOpen).
	Open() (fd int, err error)
	// Release closes fd and undoes what Listen, Socket or Open set up.
	Release(fd int) error
	// String describes the endpoint for logs and disassembly
	// ("tcp listen 127.0.0.1:7000").
	String() string
}
