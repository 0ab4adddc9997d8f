// Package endpoints has pxroute's endpoint kinds (tcp, unix, file, stdin,
// stdout) and framings (raw, lines, length-prefix).
//
// An endpoint describes how to get a descriptor — listen, connect or open —
// and what crosses it: its framing, the largest message a peer may send
// (max_frame) and how much may queue for one connection (high_water). It
// never does I/O on the data path; the loops do, through package completion.
//
// Kinds are built from topology parameters by the factory registered under
// their name; Register adds kinds for embedders, like database/sql.Register.
package endpoints
