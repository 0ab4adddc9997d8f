// Package completion is pxroute's completion port: the one place that talks to
// the kernel about readiness and completions.
//
// A Port accepts operations (accept, recv, send, connect, timeouts) and reports
// each one exactly once as a Completion, IOCP-style: "tell me when it is done",
// not "tell me when to start". The epoll backend turns readiness into
// completions by performing the operation itself when the descriptor becomes
// ready; regular files, which epoll cannot watch, go through a small bounded
// worker pool whose completions land back on the owning port.
//
// A Loop is one goroutine locked to its OS thread that owns one Port and a
// lock-free inbox. Other loops hand it work by pushing to the inbox and waking
// the port once; nothing on the hot path takes a lock.
//
// completion is a leaf: it imports only the standard library and
// golang.org/x/sys/unix.
package completion
