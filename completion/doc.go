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
//
// Files, one concern each:
//
//	port.go           the Port contract: Kind, Completion, Port, Noter
//	loop.go           Loop: one locked goroutine, its port and inbox
//	inbox.go          Inbox: the lock-free queue between loops
//	buf.go            Buf and the heap buffer pool
//	timers.go         the timer heap behind After
//	backoff.go        Backoff: retry schedules with jitter
//	pollable.go       Pollable: can a descriptor be waited on
//	writev.go         Writev: one writev(2) without allocating
//	splice.go         spliceNow: one non-blocking splice(2), for both backends
//	filepool.go       workers serving regular files for epoll ports
//	fdtable.go        fdTable: both backends' per-descriptor state, paged
//
// Virtual descriptors (in-process connections, for inproc endpoints),
// served by every Loop's port beside the engine's real ones:
//
//	virtual_fd.go       numbering and the lock-free table; Close, Shutdown
//	virtual_ring.go     ring: a bounded single-producer, single-consumer byte queue
//	virtual_pipe.go     Pipe: two rings, Go's Read and Write, who wakes whom
//	virtual_listener.go Listener: Dial and the backlog a loop accepts from
//	virtual_note.go     note: a Pipe's or Listener's allocation-free mail to its loop
//	virtual_port.go     virtualPort: the Port contract served from memory
//
// The epoll backend:
//
//	epoll.go          epollPort: its fields, NewEpoll, registration, Close
//	epoll_submit.go   submitting (tried at once if ready), Cancel, Abort
//	epoll_perform.go  performing a read-side or write-side op when ready
//	epoll_wait.go     Wait and Wake: epoll_wait, the eventfd, file results
//
// The io_uring backend:
//
//	uring_abi.go      kernel ABI: constants, structs, syscalls
//	uring.go          uringPort: its fields, NewUring, Notes, After, Close
//	uring_setup.go    io_uring_setup with fallbacks, mmap of the rings
//	uring_probe.go    the opcodes the kernel must support
//	uring_bufring.go  the provided-buffer ring and Release
//	uring_state.go    op slots and per-descriptor state; claiming a side
//	uring_submit.go   the submission queue and io_uring_enter
//	uring_wake.go     the eventfd Wake writes and the ring's read of it
//	uring_accept.go   Accept and its results (multishot where allowed)
//	uring_recv.go     Recv: multishot with a backlog, or one per submission
//	uring_send.go     Send and Connect and their results
//	uring_splice.go   SpliceIn and SpliceOut: inline, polled or in the kernel
//	uring_cancel.go   Cancel, Abort and cancelling one op by user_data
//	uring_reap.go     Wait: reaping the ring, handing each CQE to its kind
package completion
