// Package router is pxroute's embeddable API: load a topology (from a file,
// from bytes, or built in Go), start it on per-core loops, watch its
// figures, and stop it with a drain.
//
// Everything the pxroute command does, an embedding program can do here.
//
// # Typed options
//
// Build makes a router from a Topology written in Go: an Endpoint type per
// kind (TCP, UDP, Unix, File, FIFO, Exec, Device, PTY, Stdin, Stdout,
// Inproc) with a Framing (Raw, Lines, Delimiter, LengthPrefix, Datagram),
// and a Route type per pattern (Bridge, Forward, Fanout, Relay, Echo,
// Balance, Merge, Request) with its options and Flow. Each field is a key
// of a topology file, named in its doc; a zero field is the key left out.
// The values go through the validators a file's do (each kind's factory,
// topology.Check), and every error comes back at once, naming the Go
// value: `Endpoints["subs"] (TCP).MaxFrame: ...`, `Routes[1] (Fanout).To[0]:
// unknown endpoint "lobby"`. Endpoints are added in name order.
//
// A kind with no Go type here (one registered with endpoints.Register) is
// built with endpoints.New from a map of its keys, and added with
// topology.New(...).AddEndpoint; that map is the escape hatch, not the way
// to configure the built-in kinds.
//
// # In-process endpoints
//
// Go code reaches an inproc endpoint without a socket: Router.Inproc(name)
// returns a handle whose Attach makes one connection (InprocConn), which
// joins the endpoint's routes like any socket connection. Send puts a
// message of one or more parts into them; Recv takes what they deliver.
// Handle and Serve run a function per message (Serve's replies go back to
// the requester). Nothing of yours runs on a loop: an attach's bytes move
// through two bounded rings (completion.Pipe), each side sleeping only
// when its ring is empty or full, so the router's marks and overflow
// policies decide what a slow Go reader costs, as they do for a socket.
package router
