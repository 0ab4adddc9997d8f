// Package endpoints has pxroute's endpoint kinds (tcp, unix, file, stdin,
// stdout, udp, fifo, exec, device, pty, inproc, nats) and framings (raw,
// lines, delimiter, length-prefix, datagram; zmtp, websocket; nats's own,
// which a nats endpoint always has).
//
// An endpoint describes how to get a descriptor — listen, connect or open —
// and what crosses it: its framing, the largest message a peer may send
// (max_frame) and how much may queue for one connection (high_water). It
// never does I/O on the data path; the loops do, through package completion.
//
// The terms it is run by are package contract's: each kind implements
// contract.Endpoint (Role and its opener), each framing contract.Framing
// and the capabilities it has (Datagrams, Capped, Sizer, Resumer), and
// its settings are a contract.Settings, read here from the topology with
// contract's validators for the keys a route may set too (high_water,
// high_water_msgs, overflow).
//
// Kinds are built from topology parameters by the factory registered under
// their name; Register adds kinds for embedders, like database/sql.Register.
package endpoints
