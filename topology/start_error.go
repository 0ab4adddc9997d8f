package topology

import (
	"fmt"

	"github.com/pxroute/pxroute/opcodes"
)

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
