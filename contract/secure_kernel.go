package contract

// KernelRecords is a Transport whose records the kernel seals and opens
// (Linux kernel TLS: the keys went to the socket after the handshake). The
// machine then drives the connection as a plain stream — recv, send,
// splice, sendfile — which is the point: bridges and file→socket keep
// their zero-copy paths. Seal and Unseal are not called; the kernel does
// that work. What the kernel leaves to user space comes here:
//
//   - A read (recv, splice) of a record that is not application data
//     fails with EIO. The machine then calls ControlRecord, on its loop:
//     one non-blocking recvmsg of that record and what it means.
//   - Before this side's write end closes, SendCloseNotify sends the
//     close_notify alert, one non-blocking sendmsg.
//
// Leftover is plaintext, not wire bytes: records the handshake read past
// its end were opened before the keys went to the kernel.
type KernelRecords interface {
	Transport
	// ControlRecord reads the record a read of fd refused. It returns
	// application data to deliver (a read may meet it after all), nil
	// and nil when the record was absorbed (a session ticket, a key
	// update, followed in the kernel) or none was there yet,
	// ErrPeerClosed for close_notify, or a *SecureError (an alert, a
	// refused renegotiation, a key update the kernel refused).
	ControlRecord(fd int) ([]byte, error)
	// SendCloseNotify sends close_notify on fd, best effort: a full send
	// buffer loses it, and the connection ends all the same.
	SendCloseNotify(fd int) error
}
